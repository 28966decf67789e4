"""Valid domain objects for tests, with just the fields a test cares about overridden."""

from __future__ import annotations

from datetime import date
from typing import Any

from tutka.config.areas import load_hierarchy
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    HistoryEntry,
    Localized,
    Polarity,
    Severity,
    alert_id,
)

SHIPPED = load_hierarchy()


def alert(area: str = "KU240", **overrides: Any) -> Alert:
    """A valid alert at ``area``, its parents taken from the shipped hierarchy."""
    kind = overrides.get("kind", AlertKind.UNEMPLOYMENT)
    group = f"{area}|{overrides.get('sector') or '-'}|{kind}"
    severity = overrides.get("severity", Severity.WARNING)
    fields: dict[str, Any] = {
        "id": alert_id(group, "2023-10"),
        "sequence": 1,
        "group": group,
        "kind": kind,
        "polarity": Polarity.NEGATIVE,
        "severity": severity,
        "status": AlertStatus.OPEN,
        "area": area,
        "area_name": Localized(fi=area, sv=area, en=area),
        "parents": SHIPPED.ancestors(area),
        "period": "2023-10",
        "opened_period": "2023-10",
        "available_on": date(2023, 11, 20),
        "evidence": (),
        "history": (HistoryEntry(period="2023-10", status="open", severity=severity),),
        "explanation": Localized(fi="-", sv="-", en="-"),
    }
    fields.update(overrides)
    return Alert(**fields)
