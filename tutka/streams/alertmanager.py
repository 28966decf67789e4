"""Alerts as Prometheus Alertmanager sees them: labels, annotations and the v2 ``postableAlert``.

Pure mapping; the shell (``tutka.monitoring.pusher``) posts the result. Alertmanager identifies an
alert by its label set, so the labels are chosen to be stable while an alert lives — ``alert_id`` is
the deterministic id of the episode — and meaningful for routing and inhibition:

* ``area``, ``area_level`` (KU/SK/MK/ELY/SSS), ``region`` (the MK code, for areas at or below a
  region), ``ely`` (the ELY area, ``SSS`` for national alerts): route by ELY centre, inhibit the
  same kind below a national or regional alert (``config/alertmanager.yml``);
* ``kind``, ``polarity``, ``severity``, ``sector`` (TOL 2008 code, ``all`` when not
  sector-specific), ``occupation`` (ISCO-08, ``all`` likewise).

A severity change changes the label set, so the shell resolves the old one when it posts the new.
An open alert is posted with ``endsAt`` a hold time ahead and re-posted before that passes; a
resolved one with ``endsAt`` = now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tutka.models.alerts import Alert, AlertStatus
from tutka.models.codes import area_level

ALERTNAME: Final = "MuutostutkaStructuralChange"
ALL: Final = "all"
NATIONAL: Final = "SSS"

Labels = dict[str, str]


def labels(alert: Alert) -> Labels:
    """The label set of ``alert`` in Alertmanager."""
    level = area_level(alert.area)
    out: Labels = {
        "alertname": ALERTNAME,
        "alert_id": alert.id,
        "area": alert.area,
        "area_level": level,
        "ely": alert.ely or NATIONAL,
        "kind": alert.kind.value,
        "polarity": alert.polarity.value,
        "severity": alert.severity.value,
        "sector": alert.sector or ALL,
        "occupation": alert.occupation or ALL,
    }
    region = region_of(alert)
    if region is not None:
        out["region"] = region
    return out


def region_of(alert: Alert) -> str | None:
    """The region (maakunta) of an alert on a region or below it."""
    if alert.area.startswith("MK"):
        return alert.area
    return next((code for code in alert.parents if code.startswith("MK")), None)


def annotations_of(alert: Alert, link_base: str) -> dict[str, str]:
    """The plain-language explanation in three languages and a link to the evidence."""
    return {
        "summary": summary(alert),
        "description": alert.explanation.en,
        "description_fi": alert.explanation.fi,
        "description_sv": alert.explanation.sv,
        "description_en": alert.explanation.en,
        "evidence_url": evidence_url(alert, link_base),
        "period": alert.period,
        "opened_period": alert.opened_period,
        "available_on": alert.available_on.isoformat(),
    }


def summary(alert: Alert) -> str:
    """One line for a notification title, e.g. ``Kemi: layoff_notices negative (critical)``."""
    subject = alert.area_name.en
    if alert.sector:
        subject += f" / TOL {alert.sector}"
    if alert.occupation:
        subject += f" / ISCO {alert.occupation}"
    return f"{subject}: {alert.kind.value} {alert.polarity.value} ({alert.severity.value})"


def evidence_url(alert: Alert, link_base: str) -> str:
    """Where Alertmanager's receivers find the evidence: the room's page of the alert."""
    return f"{link_base}{alert.id}"


def postable(alert: Alert, now: datetime, hold_seconds: float, link_base: str) -> dict[str, Any]:
    """The v2 ``postableAlert`` for the current version of ``alert`` at wall-clock ``now``."""
    resolved = alert.status == AlertStatus.RESOLVED
    ends = now if resolved else now + timedelta(seconds=hold_seconds)
    return {
        "labels": labels(alert),
        "annotations": annotations_of(alert, link_base),
        "startsAt": iso(starts_at(alert, now)),
        "endsAt": iso(ends),
        "generatorURL": evidence_url(alert, link_base),
    }


def resolution(previous: Labels, alert: Alert, now: datetime, link_base: str) -> dict[str, Any]:
    """Resolve an earlier label set of ``alert`` (before its severity changed)."""
    return {
        "labels": previous,
        "annotations": annotations_of(alert, link_base),
        "startsAt": iso(starts_at(alert, now)),
        "endsAt": iso(now),
        "generatorURL": evidence_url(alert, link_base),
    }


def starts_at(alert: Alert, now: datetime) -> datetime:
    """When the data that opened the alert became available (never after ``now``)."""
    opened = datetime.combine(alert.available_on, datetime.min.time(), tzinfo=UTC)
    return min(opened, now)


def iso(moment: datetime) -> str:
    """``moment`` in UTC as Alertmanager wants it (RFC 3339 with ``Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
