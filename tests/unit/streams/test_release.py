"""Release-level decisions: each change reported once, at the area that explains it."""

from __future__ import annotations

from tutka.models.alerts import AlertKind, Polarity
from tutka.streams.release import decide, signal_class

from .helpers import signal, small_hierarchy

H = small_hierarchy()


def verdicts(signals, prior=frozenset()):  # type: ignore[no-untyped-def]
    return {d.area: (d.accepted, d.reason) for d in decide(signals, H, 0.5, prior)}


def test_a_nationwide_shock_is_reported_once_as_national() -> None:
    signals = [
        signal("SSS", 1300, 1000),
        signal("MK01", 390, 300),
        signal("ELY01", 390, 300),
        signal("MK19", 65, 50),
        signal("ELY15", 65, 50),
        signal("KU240", 13, 10),
    ]
    result = verdicts(signals)
    assert result["SSS"] == (True, "accepted")
    assert [a for a, (ok, _) in result.items() if ok] == ["SSS"]
    national = next(d for d in decide(signals, H, 0.5) if d.area == "SSS")
    assert set(national.also_in) == {"MK01", "ELY01", "MK19", "ELY15", "KU240"}


def test_an_area_hit_harder_than_the_country_is_reported_too() -> None:
    signals = [
        signal("SSS", 1300, 1000),
        signal("MK19", 90, 50),
        signal("MK19", 90, 50, detector="divergence"),
    ]
    result = verdicts(signals)
    assert result["SSS"] == (True, "accepted")
    assert result["MK19"] == (True, "accepted")


def test_a_local_closure_is_reported_where_it_happened() -> None:
    # KU240 carries nearly all of its sub-region's and region's excess.
    signals = [signal("KU240", 1400, 1000), signal("SK192", 2450, 2050), signal("MK19", 9500, 9100)]
    result = verdicts(signals)
    assert result["KU240"] == (True, "accepted")
    assert result["SK192"] == (False, "explained_by:KU240")
    assert result["MK19"] == (False, "explained_by:SK192")
    accepted = [d for d in decide(signals, H, 0.5) if d.accepted]
    assert [d.area for d in accepted] == ["KU240"]
    assert accepted[0].also_in == ("MK19", "SK192")


def test_a_region_whose_excess_is_spread_over_its_areas_keeps_the_alert() -> None:
    # Each municipality carries under half of the sub-region's excess: the sub-region reports.
    signals = [
        signal("SK192", 1300, 1000),
        signal("KU240", 1120, 1000),
        signal("KU751", 1110, 1000),
    ]
    result = verdicts(signals)
    assert result["SK192"] == (True, "accepted")
    assert result["KU240"] == (False, "part_of:SK192")
    assert result["KU751"] == (False, "part_of:SK192")


def test_an_ely_area_that_is_one_region_defers_to_the_region() -> None:
    result = verdicts([signal("ELY01", 390, 300), signal("MK01", 390, 300)])
    assert result == {"ELY01": (False, "explained_by:MK01"), "MK01": (True, "accepted")}


def test_polarities_and_kinds_are_judged_separately() -> None:
    signals = [
        signal("SSS", 1300, 1000),
        signal("MK19", 30, 50, polarity=Polarity.POSITIVE),
        signal("MK19", 80, 50, kind=AlertKind.VACANCIES, polarity=Polarity.POSITIVE),
    ]
    accepted = sorted(
        (d.area, d.kind.value, d.polarity.value) for d in decide(signals, H, 0.5) if d.accepted
    )
    assert accepted == [
        ("MK19", "unemployment", "positive"),
        ("MK19", "vacancies", "positive"),
        ("SSS", "unemployment", "negative"),
    ]


def test_a_late_signal_is_judged_against_what_the_release_reported() -> None:
    national = signal("SSS", 1300, 1000)
    prior = frozenset({("SSS", signal_class(national))})
    assert verdicts([signal("MK19", 65, 50)], prior) == {"MK19": (False, "part_of:SSS")}
    assert verdicts([signal("MK19", 65, 50)]) == {"MK19": (True, "accepted")}


def test_decisions_do_not_depend_on_signal_order() -> None:
    signals = [
        signal("SSS", 1300, 1000),
        signal("MK01", 390, 300),
        signal("KU240", 1400, 1000),
        signal("SK192", 2450, 2050),
        signal("MK19", 65, 50, detector="divergence"),
    ]
    assert decide(signals, H, 0.5) == decide(list(reversed(signals)), H, 0.5)
