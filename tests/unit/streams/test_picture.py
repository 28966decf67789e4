"""The situation picture: views, counts per place, and the timeline's changes."""

from __future__ import annotations

from tests.factories import SHIPPED, alert
from tutka.models.alerts import Alert, AlertKind, Polarity, Severity
from tutka.streams.picture import View, by_place, changes, count, matches_view, ordered


def version(a: Alert, **fields: object) -> Alert:
    return Alert.model_validate({**a.model_dump(), **fields})


def test_a_view_filters_on_every_field() -> None:
    a = alert("KU240", sector="1711", occupation="7212", kind=AlertKind.VACANCIES,
              polarity=Polarity.POSITIVE, severity=Severity.WARNING)  # fmt: skip
    assert matches_view(a, View(), SHIPPED)
    for view in (View(area="SK192"), View(sector="C"), View(sector="17"), View(occupation="72"),
                 View(kind=AlertKind.VACANCIES), View(polarity=Polarity.POSITIVE),
                 View(min_severity=Severity.WARNING), View(status="all")):  # fmt: skip
        assert matches_view(a, view, SHIPPED), view
    for view in (View(area="SK191"), View(sector="B"), View(occupation="73"),
                 View(kind=AlertKind.UNEMPLOYMENT), View(polarity=Polarity.NEGATIVE),
                 View(min_severity=Severity.CRITICAL), View(status="resolved")):  # fmt: skip
        assert not matches_view(a, view, SHIPPED), view


def test_most_urgent_first() -> None:
    watch = alert("KU240", severity=Severity.WATCH)
    critical_local = alert("KU091", severity=Severity.CRITICAL)
    critical_country = alert("SSS", severity=Severity.CRITICAL)
    assert ordered([watch, critical_local, critical_country]) == [
        critical_country, critical_local, watch,
    ]  # fmt: skip


def test_places_count_an_alert_in_its_region_and_ely_area() -> None:
    alerts = [alert("KU240", severity=Severity.CRITICAL), alert("MK19", kind=AlertKind.VACANCIES),
              alert("KU091", polarity=Polarity.POSITIVE), alert("SSS")]  # fmt: skip
    rows = {r.area: r for r in by_place(alerts, SHIPPED)}
    assert (rows["ELY15"].negative, rows["MK19"].negative, rows["MK19"].worst) == (
        2,
        2,
        Severity.CRITICAL,
    )
    assert (rows["ELY01"].positive, rows["MK01"].positive) == (1, 1)
    assert rows["SSS"].negative == 1
    assert len(rows) == 1 + len(SHIPPED.of_level("ELY")) + len(SHIPPED.of_level("MK"))
    assert count(alerts).negative == 3 and count(alerts).by_severity["critical"] == 1


def test_changes_report_openings_escalations_and_resolutions_once() -> None:
    opened = alert("KU240", severity=Severity.WATCH)
    same = version(opened, sequence=2, status="updated")
    escalated = version(opened, sequence=3, status="updated", severity="critical")
    resolved = version(opened, sequence=4, status="resolved", resolved_period="2023-12")
    assert [c.change for c in changes(None, opened)] == ["opened"]
    assert changes(opened, same) == []
    assert [c.change for c in changes(same, escalated)] == ["escalated"]
    assert [c.change for c in changes(escalated, resolved)] == ["resolved"]
    assert changes(resolved, escalated) == []  # an older version arriving late
