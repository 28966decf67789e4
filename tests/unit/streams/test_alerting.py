"""The alerting stage: open, escalate quietly, resolve, reverse, withdraw — in event time."""

from __future__ import annotations

from dataclasses import replace

from tutka.config.catalogue import AlertingRules, SeverityRules
from tutka.models.alerts import (
    HELD_STRUCTURAL,
    NEW_NORMAL,
    AlertKind,
    AlertStatus,
    ChangeClass,
    Localized,
    Polarity,
    Severity,
    alert_id,
    held_open,
)
from tutka.models.codes import period_index
from tutka.streams.alerting import (
    AlertContext,
    GroupState,
    apply_decision,
    close_by_staff,
    importance,
    resolve_quiet,
    withdraw,
)
from tutka.streams.signals import Decision, Signal

from .helpers import signal, small_hierarchy

SECTORS = {"C": Localized(fi="Teollisuus", sv="Tillverkning", en="Manufacturing")}
# Most tests look at one signal at a time: let one signal open an alert.
CTX = AlertContext(small_hierarchy(), SECTORS, SeverityRules(), AlertingRules(min_detectors=1))
STRICT = AlertContext(small_hierarchy(), SECTORS, SeverityRules(), AlertingRules())
MAY = period_index("2023-05")


def decision(*signals: Signal, accepted: bool = True, also_in: tuple[str, ...] = ()) -> Decision:
    first = signals[0]
    return Decision(
        first.group,
        first.kind,
        first.polarity,
        first.area,
        first.series.sector,
        None,
        first.period,
        signals,
        accepted,
        "accepted" if accepted else "part_of:SSS",
        also_in,
    )


def test_an_accepted_decision_opens_an_alert_with_evidence_and_explanations() -> None:
    state, alerts = apply_decision(
        GroupState(), decision(signal("KU240", 1400, 1000, period=MAY)), CTX
    )
    (alert,) = alerts
    assert alert.status is AlertStatus.OPEN
    assert alert.id == alert_id("KU240|-|-|unemployment", "2023-05")
    assert (alert.area, alert.region, alert.ely, alert.parents) == (
        "KU240",
        "KU240",
        "ELY15",
        ("SK192", "MK19", "ELY15", "SSS"),
    )
    assert alert.polarity is Polarity.NEGATIVE and alert.period == alert.opened_period == "2023-05"
    assert alert.evidence[0].value == 1400 and alert.evidence[0].baseline == 1000
    assert "fi KU240 (KU240)" in alert.explanation.fi and "toukokuussa 2023" in alert.explanation.fi
    assert "i maj 2023" in alert.explanation.sv and "steg" in alert.explanation.sv
    assert "rose in May 2023" in alert.explanation.en and "+40%" in alert.explanation.en
    assert state.alert == alert


def test_a_continuing_condition_does_not_repeat_but_escalation_does() -> None:
    state, _ = apply_decision(GroupState(), decision(signal("KU240", 1100, 1000, period=MAY)), CTX)
    assert state.alert is not None and state.alert.severity is Severity.WATCH
    state, again = apply_decision(state, decision(signal("KU240", 1110, 1000, period=MAY + 1)), CTX)
    assert again == []  # same detector, same severity: nothing material
    assert state.alert.period == "2023-06"  # but the state knows the latest period
    state, escalated = apply_decision(
        state, decision(signal("KU240", 1600, 1000, period=MAY + 2, detector="cusum")), CTX
    )
    (alert,) = escalated  # 600 people beyond the expected level: a warning
    assert alert.status is AlertStatus.UPDATED and alert.sequence == 2
    assert alert.severity is Severity.WARNING
    assert "escalated to warning" in alert.history[-1].note and "cusum" in alert.history[-1].note


def test_quiet_months_resolve_an_alert() -> None:
    groups = {"g": GroupState()}
    d = decision(signal("KU240", 1400, 1000, period=MAY))
    groups["g"], _ = apply_decision(groups["g"], d, CTX)
    assert resolve_quiet(groups, ["g"], MAY + 2, CTX) == []
    ((key, alert),) = resolve_quiet(groups, ["g"], MAY + 3, CTX)
    assert key == "g" and alert.status is AlertStatus.RESOLVED
    assert (alert.resolved_period, alert.resolution) == ("2023-08", "quiet")
    assert alert.explanation.en.startswith("Resolved, no new signals")


def _values(table: dict[int, float]) -> AlertContext:
    return AlertContext(
        CTX.hierarchy,
        SECTORS,
        SeverityRules(),
        AlertingRules(min_detectors=1, hold_shifted=6),
        values=lambda series, period: table.get(period),
    )


def test_a_level_that_stays_shifted_keeps_the_alert_open_then_settles() -> None:
    # Before: 1000 in May a year earlier; the alert's peak is 1400 against 1000 expected.
    ctx = _values({MAY - 12 + k: 1000.0 for k in range(12)} | {MAY + k: 1400.0 for k in range(12)})
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
    )
    # Quiet for three months but still at 1400: open, noted once as the new normal.
    ((_, kept),) = resolve_quiet(groups, ["g"], MAY + 3, ctx)
    assert kept.status is AlertStatus.UPDATED and "new normal" in kept.history[-1].note
    assert resolve_quiet(groups, ["g"], MAY + 4, ctx) == []
    assert groups["g"].alert is not None
    ((_, settled),) = resolve_quiet(groups, ["g"], MAY + 6, ctx)
    assert (settled.status, settled.resolution) == (AlertStatus.RESOLVED, "settled")
    assert settled.explanation.en.startswith(
        "Resolved, the shifted level has become the new normal"
    )


def test_a_level_that_comes_back_resolves_as_recovered() -> None:
    ctx = _values({MAY - 12 + k: 1000.0 for k in range(12)} | {MAY + 3: 1100.0})
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
    )
    ((_, alert),) = resolve_quiet(groups, ["g"], MAY + 3, ctx)
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, "recovered")
    assert alert.explanation.fi.startswith("Päättynyt, taso palautui")
    assert groups["g"].alert is None


def test_the_opposite_change_resolves_the_open_alert_as_reversed() -> None:
    state, _ = apply_decision(GroupState(), decision(signal("KU240", 1400, 1000, period=MAY)), CTX)
    recovery = signal("KU240", 900, 1300, period=MAY + 5, polarity=Polarity.POSITIVE)
    state, (alert,) = apply_decision(state, decision(recovery), CTX)
    assert (alert.status, alert.resolution, alert.polarity) == (
        AlertStatus.RESOLVED,
        "reversed",
        Polarity.NEGATIVE,
    )
    assert state.alert is None
    # More of the same recovery is still the same story: nothing new opens.
    state, out = apply_decision(state, decision(recovery), CTX)
    assert out == [] and state.alert is None


def test_a_folded_signal_keeps_an_open_alert_alive_without_emitting() -> None:
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), CTX
    )
    groups["g"], out = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY + 2), accepted=False), CTX
    )
    assert out == []
    assert resolve_quiet(groups, ["g"], MAY + 4, CTX) == []
    assert len(resolve_quiet(groups, ["g"], MAY + 5, CTX)) == 1


def test_revised_figures_withdraw_evidence() -> None:
    state, _ = apply_decision(
        GroupState(),
        decision(
            signal("KU240", 1400, 1000, period=MAY),
            signal("KU240", 1400, 1000, period=MAY, detector="cusum"),
        ),
        CTX,
    )
    series = "KU240/unemployed_jobseekers"
    (updated,) = withdraw(state, {("cusum", series, "2023-05")}, MAY + 1, CTX)
    assert updated.status is AlertStatus.UPDATED and [e.detector for e in updated.evidence] == [
        "seasonal_baseline"
    ]
    (gone,) = withdraw(state, {("seasonal_baseline", series, "2023-05")}, MAY + 1, CTX)
    assert (gone.status, gone.resolution) == (AlertStatus.RESOLVED, "withdrawn")
    assert withdraw(state, {("seasonal_baseline", series, "2023-05")}, MAY + 1, CTX) == []


def test_severity_is_importance_persons_and_share_not_polarity() -> None:
    def judge(
        value: float,
        baseline: float,
        polarity: Polarity = Polarity.NEGATIVE,
        force: float | None = None,
        detectors: tuple[str, ...] = ("seasonal_baseline",),
    ) -> tuple[Severity, float, float | None]:
        ev = [signal("KU240", value, baseline, detector=d).evidence() for d in detectors]
        ctx = AlertContext(
            CTX.hierarchy,
            SECTORS,
            SeverityRules(),
            AlertingRules(),
            values=(lambda s, p: force if s == "KU240/labour_force" else None),
        )
        return importance(ev, 0, AlertKind.UNEMPLOYMENT, polarity, "KU240", ctx)

    # 100 people in a municipality of 100 000 workers: watch, however many detectors agree.
    three = ("seasonal_baseline", "cusum", "bocpd")
    assert judge(1100, 1000, force=100_000, detectors=three) == (Severity.WATCH, 100.0, 0.001)
    # The same 100 people where the labour force is 4 000 (2.5 %): a warning, not critical.
    assert judge(1100, 1000, force=4_000)[0] is Severity.WARNING
    # +200 % of 20 people is nothing.
    assert judge(30, 10, force=1_000)[0] is Severity.WATCH
    # A national crisis (60 000 people) is critical; the same size of good news is "strong".
    assert judge(260_000, 200_000)[0] is Severity.CRITICAL
    assert judge(140_000, 200_000, Polarity.POSITIVE)[0] is Severity.STRONG
    assert judge(1600, 1000, Polarity.POSITIVE)[0] is Severity.NOTABLE


def test_a_single_weak_signal_waits_for_corroboration() -> None:
    state, out = apply_decision(
        GroupState(), decision(signal("KU240", 1100, 1000, period=MAY)), STRICT
    )
    assert out == [] and state.alert is None
    # Another detector within three months corroborates it: the alert opens with both.
    state, (alert,) = apply_decision(
        state, decision(signal("KU240", 1150, 1000, period=MAY + 2, detector="cusum")), STRICT
    )
    assert alert.opened_period == "2023-07"
    assert {(e.detector, e.period) for e in alert.evidence} == {
        ("seasonal_baseline", "2023-05"),
        ("cusum", "2023-07"),
    }


def test_old_candidates_expire() -> None:
    state, _ = apply_decision(
        GroupState(), decision(signal("KU240", 1100, 1000, period=MAY)), STRICT
    )
    state, out = apply_decision(
        state, decision(signal("KU240", 1100, 1000, period=MAY + 3, detector="cusum")), STRICT
    )
    assert out == [] and state.alert is None


def test_the_same_detector_in_two_months_or_a_strong_score_is_enough() -> None:
    state, _ = apply_decision(
        GroupState(), decision(signal("KU240", 1100, 1000, period=MAY)), STRICT
    )
    state, (alert,) = apply_decision(
        state, decision(signal("KU240", 1100, 1000, period=MAY + 1)), STRICT
    )
    assert alert.status is AlertStatus.OPEN
    strong = replace(signal("KU240", 1100, 1000, period=MAY), score=8.0)
    _, (alert,) = apply_decision(GroupState(), decision(strong), STRICT)
    assert alert.status is AlertStatus.OPEN


def test_a_recovery_marks_the_earlier_alert_reversed_instead_of_opening_a_new_one() -> None:
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1600, 1000, period=MAY)), CTX
    )
    ((_, resolved),) = resolve_quiet(groups, ["g"], MAY + 3, CTX)
    assert resolved.resolution == "quiet"
    back = signal("KU240", 1100, 1600, period=MAY + 6, polarity=Polarity.POSITIVE)
    groups["g"], (again,) = apply_decision(groups["g"], decision(back), CTX)
    assert (again.id, again.status, again.resolution) == (
        resolved.id,
        AlertStatus.RESOLVED,
        "reversed",
    )
    assert again.sequence == resolved.sequence + 1 and groups["g"].alert is None
    # A positive change that overshoots well below the earlier level is new news.
    far = signal("KU240", 500, 1600, period=MAY + 7, polarity=Polarity.POSITIVE)
    groups["g"], (new,) = apply_decision(groups["g"], decision(far), CTX)
    assert new.status is AlertStatus.OPEN and new.polarity is Polarity.POSITIVE


def _classed(change: ChangeClass, table: dict[int, float] | None = None) -> AlertContext:
    return replace(
        CTX,
        values=None if table is None else (lambda series, period: table.get(period)),
        change_class=lambda alert: change,
    )


def test_a_shifted_level_is_held_until_staff_close_it_without_a_settle() -> None:
    ctx = _classed(
        ChangeClass.UNDETERMINED,
        {MAY - 12 + k: 1000.0 for k in range(12)} | {MAY + k: 1400.0 for k in range(60)},
    )
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
    )
    ((_, kept),) = resolve_quiet(groups, ["g"], MAY + 3, ctx)
    assert kept.history[-1].note == NEW_NORMAL and held_open(kept)
    for month in range(MAY + 4, MAY + 48):  # four years quiet and shifted: still open
        assert resolve_quiet(groups, ["g"], month, ctx) == []
    closed = close_by_staff(groups["g"], MAY + 48, "new_normal_accepted", ctx)
    assert closed is not None and groups["g"].alert is None
    assert (closed.status, closed.resolution, closed.closure) == (
        AlertStatus.RESOLVED, "closed_by_staff", "new_normal_accepted",
    )  # fmt: skip
    assert closed.resolved_period == "2027-05" and closed.sequence == kept.sequence + 1
    assert closed.explanation.fi.startswith("Henkilöstö sulki hälytyksen: uusi normaali hyväksytty")
    assert close_by_staff(groups["g"], MAY + 49, "new_normal_accepted", ctx) is None


def test_a_structural_change_whose_level_is_unknown_is_held_a_transient_one_resolves() -> None:
    for change, expected in ((ChangeClass.STRUCTURAL, None), (ChangeClass.TRANSIENT, "quiet")):
        ctx = _classed(change)
        groups = {"g": GroupState()}
        groups["g"], _ = apply_decision(
            groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
        )
        ((_, alert),) = resolve_quiet(groups, ["g"], MAY + 3, ctx)
        assert alert.resolution == expected
        if expected is None:
            assert alert.history[-1].note == HELD_STRUCTURAL and held_open(alert)
            assert resolve_quiet(groups, ["g"], MAY + 30, ctx) == []


def test_a_transient_change_that_recovers_resolves_as_reversed() -> None:
    table = {MAY - 12 + k: 1000.0 for k in range(12)} | {MAY + 3: 1050.0}
    ctx = _classed(ChangeClass.TRANSIENT, table)
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
    )
    ((_, alert),) = resolve_quiet(groups, ["g"], MAY + 3, ctx)
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, "reversed")


def test_a_held_alert_that_moves_again_says_so_and_is_no_longer_closable() -> None:
    ctx = _classed(ChangeClass.STRUCTURAL)
    groups = {"g": GroupState()}
    groups["g"], _ = apply_decision(
        groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
    )
    resolve_quiet(groups, ["g"], MAY + 3, ctx)
    groups["g"], (moved,) = apply_decision(
        groups["g"], decision(signal("KU240", 1420, 1000, period=MAY + 8)), ctx
    )
    assert moved.history[-1].note.startswith("moving again after the hold")
    assert not held_open(moved)
    assert close_by_staff(groups["g"], MAY + 8, "false_alarm", ctx) is None


def test_the_new_normal_moving_again_is_announced_only_after_renew_after_quiet_months() -> None:
    table = {MAY - 12 + k: 1000.0 for k in range(12)} | {MAY + k: 1400.0 for k in range(60)}
    for later, announced in ((MAY + 10, False), (MAY + 30, True)):
        ctx = _classed(ChangeClass.UNDETERMINED, table)
        groups = {"g": GroupState()}
        groups["g"], _ = apply_decision(
            groups["g"], decision(signal("KU240", 1400, 1000, period=MAY)), ctx
        )
        resolve_quiet(groups, ["g"], MAY + 3, ctx)
        groups["g"], out = apply_decision(
            groups["g"], decision(signal("KU240", 1410, 1000, period=later)), ctx
        )
        assert bool(out) is announced
        assert held_open(groups["g"].alert) is not announced  # type: ignore[arg-type]
