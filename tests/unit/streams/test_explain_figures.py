"""Figure explanations: the peak, percentages only where they mean something, names that read."""

from __future__ import annotations

from dataclasses import replace

from tutka.models.alerts import AlertKind, AlertStatus, Localized, Polarity
from tutka.streams.explain import AlertFacts, explain
from tutka.streams.signals import SeriesKey

from .helpers import signal

MAY = 2023 * 12 + 4
UUSIMAA = Localized(fi="Uusimaa", sv="Nyland", en="Uusimaa")
LAPPI = Localized(fi="Lappi", sv="Lappland", en="Lapland")


def facts(*evidence: object, **changes: object) -> AlertFacts:
    base = AlertFacts(
        kind=AlertKind.UNEMPLOYMENT,
        polarity=Polarity.NEGATIVE,
        status=AlertStatus.OPEN,
        resolution=None,
        area="MK01",
        area_name=UUSIMAA,
        sector=None,
        sector_name=None,
        occupation=None,
        period=MAY + 2,
        evidence=evidence,  # type: ignore[arg-type]
        notices=(),
        notice_count=0,
        notice_persons=0,
        also_in=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_headline_quotes_the_peak_and_its_month_not_the_latest_month() -> None:
    peak = signal("MK01", 1210, 1000, period=MAY).evidence()
    latest = signal("MK01", 1110, 1000, period=MAY + 2, detector="cusum").evidence()
    text = explain(facts(peak, latest))
    assert "in May 2023: 1,210 against about 1,000 expected (+21%)" in text.en
    assert "toukokuussa 2023: 1 210" in text.fi and "(+21 %)" in text.fi
    assert "+11" not in text.en


def test_no_percentage_against_a_level_near_zero_and_no_detector_count() -> None:
    ev = signal("MK01", 11, 0).evidence()
    text = explain(facts(ev, occupation="7212"))
    assert "from about 0 to 11" in text.en and "%" not in text.en
    assert "tasolta noin 0 tasolle 11" in text.fi and "%" not in text.fi
    assert "från cirka 0 till 11" in text.sv
    for lang in (text.fi, text.sv, text.en):
        assert "agreement" not in lang and "samaa mieltä" not in lang and "eniga" not in lang
    # A change above 1,000 % is not quoted either.
    huge = explain(facts(signal("MK01", 500, 40).evidence()))
    assert "from about 40 to 500" in huge.en and "%" not in huge.en


def test_occupations_are_named_by_their_isco_title() -> None:
    ev = signal("MK01", 260, 200).evidence()
    text = explain(facts(ev, occupation="7212"))
    assert "occupation 7212 Welders and flamecutters" in text.en
    assert "ammattiryhmä 7212 Rakennus-, korjaus- ja valmistustyöntekijät: Welders" in text.fi
    assert "yrkesgrupp 7212 Byggnads-, reparations- och tillverkningsarbetare: Welders" in text.sv


def test_also_seen_in_never_lists_the_own_area_and_merges_same_named_ely_and_region() -> None:
    ev = signal("MK19", 1300, 1000).evidence()
    text = explain(
        facts(
            ev,
            area="MK19",
            area_name=LAPPI,
            also_in=(LAPPI, LAPPI, UUSIMAA, UUSIMAA, Localized(fi="Kemi", sv="Kemi", en="Kemi")),
            also_in_codes=("MK19", "ELY15", "ELY01", "MK01", "KU240"),
        )
    )
    assert text.en.endswith("Also seen in: Uusimaa (ELY01, MK01), Kemi (KU240).")
    assert "Lapland (" not in text.en.split("Also seen in")[1]
    lone_ely = explain(facts(ev, also_in=(LAPPI,), also_in_codes=("ELY15",)))
    assert lone_ely.fi.endswith("Sama muutos myös: Lappi (ELY-alue, ELY15).")


def test_series_key_names_occupation_series() -> None:
    assert str(SeriesKey("MK01", "open_at_month_end", occupation="7212")).endswith("isco:7212")
