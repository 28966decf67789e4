"""The policy-trigger watchers fire exactly when their criterion is met, not one unit short."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import TriggerRules, load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    Localized,
    Severity,
    TriggerFacts,
    TriggerRule,
)
from tutka.models.codes import period_index, period_str
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported
from tutka.streams.alerting import AlertContext
from tutka.streams.engine import Engine
from tutka.streams.signals import SeriesKey
from tutka.streams.state import restore, snapshot
from tutka.streams.triggers import TriggerState, on_notice, on_release
from tutka.streams.triggers import _alert as _trigger_alert

HIERARCHY = load_hierarchy()
CATALOGUE = load_catalogue()
RULES = CATALOGUE.triggers
CTX = AlertContext(HIERARCHY, localized_sector_names(), CATALOGUE.severity, CATALOGUE.alerting)
#: Valid business ids (check digit) of three different enterprises.
FIRMS = ("0112038-9", "0201256-6", "1572860-0")


def _notice(
    nid: str,
    persons: int,
    effective: str = "2024-03",
    *,
    firm: str = FIRMS[0],
    municipality: str = "KU240",
    sector: str = "17110",
    kind: str = "dismissal",
    announced: date = date(2024, 1, 10),
) -> LayoffNoticeFiled:
    year, month = (int(x) for x in effective.split("-"))
    return LayoffNoticeFiled(
        notice_id=nid,
        employer="Perämeren Sellu Oy",
        business_id=firm,
        municipality=municipality,
        sector=sector,
        kind=kind,
        persons=persons,
        announced=announced,
        effective_from=date(year, month, 1),
    )


def _fold(notices: list[LayoffNoticeFiled], state: TriggerState | None = None) -> list[Alert]:
    state = state or TriggerState()
    return [a for n in notices for a in on_notice(state, n, RULES, CTX)]


def _rules(alerts: list[Alert]) -> list[TriggerRule]:
    return [a.trigger.rule for a in alerts if a.trigger is not None]


# -- EGF, one enterprise ---------------------------------------------------------------------------


def test_egf_enterprise_fires_at_201_not_at_200() -> None:
    at_200 = _fold([_notice("a", 120), _notice("b", 80, "2024-05")])
    assert TriggerRule.EGF_ENTERPRISE not in _rules(at_200)
    at_201 = _fold([_notice("a", 120), _notice("b", 81, "2024-05")])
    [alert] = [a for a in at_201 if a.trigger and a.trigger.rule is TriggerRule.EGF_ENTERPRISE]
    assert alert.kind is AlertKind.POLICY_TRIGGER
    assert alert.trigger is not None
    assert (alert.trigger.measured, alert.trigger.threshold) == (201, 200)
    assert alert.trigger.comparison == "gt"
    assert alert.trigger.subject == FIRMS[0]
    assert "Regulation (EU) 2021/691" in alert.trigger.source
    assert "more than 200" in alert.explanation.en and "yli 200" in alert.explanation.fi


def test_egf_enterprise_counts_four_months_not_five() -> None:
    # March and June are within four months; March and July are not.
    assert TriggerRule.EGF_ENTERPRISE in _rules(
        _fold([_notice("a", 150), _notice("b", 51, "2024-06")])
    )
    assert TriggerRule.EGF_ENTERPRISE not in _rules(
        _fold([_notice("a", 150), _notice("b", 51, "2024-07")])
    )


def test_egf_enterprise_ignores_other_firms_and_temporary_layoffs() -> None:
    # Another firm in the same division counts for the sector criterion only.
    other = _rules(_fold([_notice("a", 150), _notice("b", 51, firm=FIRMS[1])]))
    assert other == [TriggerRule.EGF_SECTOR]
    assert _rules(_fold([_notice("a", 150), _notice("b", 300, kind="temporary_layoff")])) == []


def test_egf_enterprise_fires_once_per_episode_and_a_revision_replaces() -> None:
    state = TriggerState()
    first = _fold([_notice("a", 201)], state)
    again = _fold([_notice("b", 50, "2024-04")], state)
    assert _rules(first) == [TriggerRule.EGF_ENTERPRISE, TriggerRule.EGF_SECTOR]
    assert again == []
    # A revised notice replaces its earlier version: 150 + 50 is not more than 200.
    revised = TriggerState()
    _fold([_notice("a", 150)], revised)
    assert _fold([_notice("a", 150, "2024-03"), _notice("b", 50, "2024-04")], revised) == []


# -- EGF, one sector in one or two contiguous NUTS 2 regions --------------------------------------


def test_egf_sector_sums_firms_of_one_division_in_one_nuts2_region() -> None:
    # Kemi (Lapland) and Oulu (North Ostrobothnia) are both in FI1D.
    notices = [
        _notice("a", 100, firm=FIRMS[0]),
        _notice("b", 100, firm=FIRMS[1], municipality="KU564", sector="17220"),
    ]
    assert _rules(_fold(notices)) == []
    notices.append(_notice("c", 1, firm=FIRMS[2], municipality="KU564", sector="17"))
    alerts = _fold(notices)
    assert _rules(alerts) == [TriggerRule.EGF_SECTOR]
    assert alerts[0].trigger is not None
    assert alerts[0].trigger.regions == ("FI1D",)
    assert alerts[0].trigger.subject == "17" and alerts[0].sector == "17"


def test_egf_sector_contiguous_regions_count_together_others_do_not() -> None:
    # Helsinki (FI1B) borders Southwest Finland's Turku (FI1C); Kemi (FI1D) borders neither FI1B.
    helsinki = _notice("a", 150, firm=FIRMS[0], municipality="KU091")
    turku = _notice("b", 51, firm=FIRMS[1], municipality="KU853")
    kemi = _notice("c", 51, firm=FIRMS[1], municipality="KU240")
    alerts = _fold([helsinki, turku])
    assert _rules(alerts) == [TriggerRule.EGF_SECTOR]
    assert alerts[0].trigger is not None and alerts[0].trigger.regions == ("FI1B", "FI1C")
    assert _rules(_fold([helsinki, kemi])) == []


def test_egf_sector_counts_six_months_not_seven() -> None:
    a = _notice("a", 150, "2024-01", firm=FIRMS[0])
    assert _rules(_fold([a, _notice("b", 51, "2024-06", firm=FIRMS[1])])) == [
        TriggerRule.EGF_SECTOR
    ]
    assert _rules(_fold([a, _notice("b", 51, "2024-07", firm=FIRMS[1])])) == []


# -- Sudden structural change (sub-region) --------------------------------------------------------


def _labour_force(state: TriggerState, area: str, value: float, period: str = "2023-12") -> None:
    figures = {SeriesKey(area, "labour_force"): value}
    on_release(state, period_index(period), date(2024, 1, 20), figures, RULES, CTX)


@pytest.mark.parametrize(
    ("labour_force", "short", "met"),
    [
        (20_000, 399, 400),  # 2 % of the labour force binds
        (10_000, 299, 300),  # several hundred binds
    ],
)
def test_structural_change_fires_at_the_binding_threshold(
    labour_force: int, short: int, met: int
) -> None:
    for persons, fires in ((short, False), (met, True)):
        state = TriggerState()
        _labour_force(state, "SK192", labour_force)
        # Two firms, so the EGF enterprise criterion is not the one tested here.
        alerts = _fold(
            [
                _notice("a", persons // 2, firm=FIRMS[0], kind="closure", sector="47"),
                _notice("b", persons - persons // 2, firm=FIRMS[1], sector="56"),
            ],
            state,
        )
        structural = [
            a
            for a in alerts
            if a.trigger and a.trigger.rule is TriggerRule.SUDDEN_STRUCTURAL_CHANGE
        ]
        assert bool(structural) is fires, (persons, labour_force)
        if fires:
            facts = structural[0].trigger
            assert facts is not None and facts.measured == met
            assert structural[0].area == "SK192"
            assert dict(facts.figures)["labour_force"] == labour_force


def test_structural_change_sums_municipalities_labour_force_and_needs_it() -> None:
    no_labour_force = [
        a
        for a in _fold([_notice("x", 500, sector="47", firm=FIRMS[1])], TriggerState())
        if a.trigger and a.trigger.rule is TriggerRule.SUDDEN_STRUCTURAL_CHANGE
    ]
    assert no_labour_force == []
    # Kemi-Tornio = Kemi, Keminmaa, Simo, Tervola, Tornio: the sub-region is their sum.
    summed = TriggerState()
    figures = {
        SeriesKey("KU240", "labour_force"): 10_000.0,
        SeriesKey("KU851", "labour_force"): 5_000.0,
    }
    on_release(summed, period_index("2023-12"), date(2024, 1, 20), figures, RULES, CTX)
    assert summed.labour_force["SK192"] == 15_000.0


def test_structural_change_window_is_twelve_announcement_months() -> None:
    state = TriggerState()
    _labour_force(state, "SK192", 10_000)
    first = _notice("a", 150, firm=FIRMS[0], sector="47", announced=date(2023, 1, 5))
    inside = _notice("b", 150, firm=FIRMS[1], sector="56", announced=date(2023, 12, 5))
    outside = _notice("c", 150, firm=FIRMS[1], sector="56", announced=date(2024, 1, 5))
    assert TriggerRule.SUDDEN_STRUCTURAL_CHANGE in _rules(_fold([first, inside], state))
    state = TriggerState()
    _labour_force(state, "SK192", 10_000)
    assert TriggerRule.SUDDEN_STRUCTURAL_CHANGE not in _rules(_fold([first, outside], state))


# -- Sahm's rule (region) -------------------------------------------------------------------------


#: The rule on rates taken as seasonally adjusted, for exact boundaries.
ADJUSTED = RULES.model_copy(
    update={"sahm": RULES.sahm.model_copy(update={"seasonal_years": 0}) if RULES.sahm else None}
)


def _sahm_run(rates: list[float], rules: TriggerRules = ADJUSTED) -> list[Alert]:
    """Monthly releases of Lapland (MK19) with these unemployment rates (labour force 100 000)."""
    state = TriggerState()
    out = []
    start = period_index("2022-01")
    for i, rate in enumerate(rates):
        figures = {
            SeriesKey("MK19", "unemployed_jobseekers"): round(rate * 1000),
            SeriesKey("MK19", "labour_force"): 100_000.0,
        }
        out.extend(on_release(state, start + i, date(2024, 1, 1), figures, rules, CTX))
    return out


def test_sahm_rule_takes_the_season_out_of_registered_unemployment() -> None:
    # Every summer +1.5 points: with the raw rates the rule would fire every June.
    def season(i: int) -> float:
        return 1.5 if i % 12 in (5, 6, 7) else 0.0

    seasonal = [10.0 + season(i) for i in range(72)]
    assert len(_sahm_run(seasonal, ADJUSTED)) > 0
    assert _sahm_run(seasonal, RULES) == []
    # The same seasons with a lasting rise of 0.8 points in the fifth year: it fires, once.
    shifted = [r + (0.8 if i >= 50 else 0.0) for i, r in enumerate(seasonal)]
    opened = [a for a in _sahm_run(shifted, RULES) if a.status is AlertStatus.OPEN]
    # From March 2026: the 3-month average is 0.53 points up in April.
    assert [a.period for a in opened] == ["2026-04"]


def test_sahm_rule_fires_at_half_a_point_not_below() -> None:
    base = [10.0] * 14
    assert _sahm_run(base + [10.49] * 3) == []
    [alert] = _sahm_run(base + [10.5] * 3)
    assert alert.trigger is not None and alert.trigger.rule is TriggerRule.SAHM_RULE
    assert alert.trigger.measured == pytest.approx(0.5)
    assert alert.area == "MK19" and alert.period == period_str(period_index("2022-01") + 16)
    assert dict(alert.trigger.figures) == {"rate_3m": 10.5, "low_3m": 10.0}


def test_sahm_rule_uses_the_low_of_the_previous_twelve_months() -> None:
    # A low 13 months back no longer counts: 10.4 - 10.0 would, 10.4 - 9.9 too, but 9.9 is old.
    rates = [9.9] * 3 + [10.0] * 12 + [10.4] * 3
    assert _sahm_run(rates) == []


def test_sahm_rule_resolves_when_it_no_longer_holds() -> None:
    alerts = _sahm_run([10.0] * 14 + [10.6] * 3 + [10.0] * 3)
    assert [a.status for a in alerts] == [AlertStatus.OPEN, AlertStatus.RESOLVED]
    assert alerts[1].id == alerts[0].id and alerts[1].sequence == 2
    assert "no longer" in alerts[1].explanation.en


# -- Through the engine, and serialisation -------------------------------------------------------


def test_engine_emits_trigger_alerts_and_other_alerts_serialise_as_before() -> None:
    engine = Engine(HIERARCHY, CATALOGUE, localized_sector_names())
    out = engine.process(_notice("a", 250, kind="closure"))
    triggers = [o for o in out if isinstance(o, Alert) and o.kind is AlertKind.POLICY_TRIGGER]
    assert _rules(triggers) == [TriggerRule.EGF_ENTERPRISE, TriggerRule.EGF_SECTOR]
    data = json.loads(triggers[0].model_dump_json())
    assert data["trigger"]["rule"] == "egf_enterprise"
    assert Alert.model_validate(data) == triggers[0]
    # The engine's checkpoint carries the watchers' state: the notices counted so far ...
    half = Engine(HIERARCHY, CATALOGUE, localized_sector_names())
    half.process(_notice("h", 150, firm=FIRMS[2]))
    restored = restore(snapshot(half), HIERARCHY, CATALOGUE, localized_sector_names())
    later = _notice("i", 51, "2024-04", firm=FIRMS[2], announced=date(2024, 1, 11))
    assert TriggerRule.EGF_ENTERPRISE in _rules(restored.process(later))
    # ... and the episodes that fired: a restored engine does not fire twice.
    again = restore(snapshot(engine), HIERARCHY, CATALOGUE, localized_sector_names())
    assert again.process(_notice("b", 10, "2024-04", announced=date(2024, 1, 11))) == []
    plain = triggers[0].model_copy(update={"trigger": None})
    assert "trigger" not in plain.model_dump(mode="json")
    figure = UnemploymentReported(
        area="MK19",
        period="2023-12",
        measure="unemployed_jobseekers",
        value=10_000.0,
        published=date(2024, 1, 20),
    )
    assert engine.process(figure) == []


def test_a_wave_that_keeps_meeting_the_criterion_is_one_episode() -> None:
    state = TriggerState()
    first = _fold([_notice("a", 201, "2024-01", firm=FIRMS[2], sector="47")], state)
    assert _rules(first) == [TriggerRule.EGF_ENTERPRISE, TriggerRule.EGF_SECTOR]
    # Another 201 in May (the next reference period, within six months): the same episode.
    assert _fold([_notice("b", 201, "2024-05", firm=FIRMS[2], sector="47")], state) == []
    # A year after the wave ended: a new one.
    later = _fold([_notice("c", 201, "2025-06", firm=FIRMS[2], sector="47")], state)
    assert _rules(later) == [TriggerRule.EGF_ENTERPRISE, TriggerRule.EGF_SECTOR]


def test_two_units_meeting_the_sector_criterion_at_once_are_two_alerts() -> None:
    # One division in two units (regions) the same month, both reported on the country: two
    # alerts with two ids (a repeated id would be taken for a repeated version and dropped).
    facts = [
        TriggerFacts(
            rule=TriggerRule.EGF_SECTOR,
            criterion=Localized(fi="k", sv="k", en="k"),
            source="s",
            subject="16",
            measured=201,
            threshold=200,
            comparison="gt",
            window_from="2024-01",
            window_to="2024-06",
            regions=regions,
        )
        for regions in (("FI1B", "FI1C"), ("FI19", "FI1D"))
    ]
    ids = {
        _trigger_alert(
            f, "SSS", "16", period_index("2024-03"), date(2024, 3, 5), CTX, Severity.WARNING
        ).id
        for f in facts
    }
    assert len(ids) == 2


def test_an_episode_in_one_unit_is_remembered_while_another_unit_fires() -> None:
    # Division 16: Tampere + Oulu (FI19 + FI1D), then Helsinki + Turku (FI1B + FI1C), then
    # Oulu again: still the first episode, not a third alert (nor a repeated id).
    notices = [
        _notice("a", 150, firm=FIRMS[0], municipality="KU837", sector="16"),
        _notice("b", 51, firm=FIRMS[1], municipality="KU564", sector="16"),
        _notice("c", 150, firm=FIRMS[2], municipality="KU091", sector="16"),
        _notice("d", 51, firm=FIRMS[0], municipality="KU853", sector="16"),
        _notice("e", 10, firm=FIRMS[1], municipality="KU564", sector="16"),
    ]
    sector = [a for a in _fold(notices) if a.trigger and a.trigger.rule is TriggerRule.EGF_SECTOR]
    assert [a.trigger.regions for a in sector if a.trigger] == [("FI19", "FI1D"), ("FI1B", "FI1C")]
    assert len({a.id for a in sector}) == 2
