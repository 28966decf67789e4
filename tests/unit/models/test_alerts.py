"""Alerts: deterministic ids, derived region/ELY, JSON round trips (tutka/models/alerts.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from tutka.config.areas import load_hierarchy
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    HistoryEntry,
    Localized,
    NoticeEvidence,
    Severity,
    SignalEvidence,
    alert_id,
)

NAME = Localized(fi="Kemi", sv="Kemi", en="Kemi")


def alert_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": alert_id("KU240|C|layoff_notices", "2023-10"),
        "sequence": 1,
        "group": "KU240|C|layoff_notices",
        "kind": "layoff_notices",
        "polarity": "negative",
        "severity": "warning",
        "status": "open",
        "area": "KU240",
        "area_name": NAME,
        "parents": ("SK192", "MK19", "ELY15", "SSS"),
        "sector": "C",
        "period": "2023-10",
        "opened_period": "2023-10",
        "available_on": date(2023, 10, 2),
        "evidence": (
            SignalEvidence(
                detector="notice_burst",
                series="KU240|C|persons",
                area="KU240",
                measure="persons",
                period="2023-10",
                value=120.0,
                baseline=4.5,
                score=9.1,
                threshold=5.0,
                direction="up",
            ),
        ),
        "notices": (
            NoticeEvidence(
                notice_id="n-2023-0001",
                employer="Kemin Sellu Oy",
                business_id="0112038-9",
                municipality="KU240",
                sector="17",
                kind="dismissal",
                persons=120,
                announced=date(2023, 10, 2),
                effective_from=date(2023, 11, 1),
            ),
        ),
        "notice_count": 1,
        "notice_persons": 120,
        "history": (HistoryEntry(period="2023-10", status="open", severity="warning"),),
        "explanation": Localized(fi="Irtisanomisia", sv="Uppsägningar", en="Dismissals"),
    }
    fields.update(overrides)
    return fields


# ---------------------------------------------------------------------------------------------
# alert_id


def test_alert_id_is_deterministic() -> None:
    assert alert_id("KU240|C|layoff_notices", "2023-10") == alert_id(
        "KU240|C|layoff_notices", "2023-10"
    )


def test_alert_id_is_the_documented_digest() -> None:
    digest = hashlib.sha256(b"MK19|-|unemployment|2023-10").hexdigest()
    assert alert_id("MK19|-|unemployment", "2023-10") == f"al-{digest[:16]}"


def test_alert_id_differs_by_group_and_period() -> None:
    ids = {
        alert_id(group, period)
        for group in ("MK19|-|unemployment", "MK18|-|unemployment", "MK19|-|vacancies")
        for period in ("2023-09", "2023-10", "2024-10")
    }
    assert len(ids) == 9
    assert all(i.startswith("al-") and len(i) == 19 for i in ids)


# ---------------------------------------------------------------------------------------------
# region and ely


@pytest.mark.parametrize(
    ("area", "parents", "ely"),
    [
        ("KU240", ("SK192", "MK19", "ELY15", "SSS"), "ELY15"),
        ("SK192", ("MK19", "ELY15", "SSS"), "ELY15"),
        ("MK07", ("ELY04", "SSS"), "ELY04"),
        ("ELY15", ("SSS",), "ELY15"),
        ("SSS", (), None),
    ],
)
def test_region_and_ely_are_derived(area: str, parents: tuple[str, ...], ely: str | None) -> None:
    alert = Alert(**alert_fields(area=area, parents=parents))
    assert alert.region == area
    assert alert.ely == ely


def test_every_area_of_the_shipped_hierarchy_gets_its_ely() -> None:
    hierarchy = load_hierarchy()
    for code in hierarchy.areas:
        alert = Alert(**alert_fields(area=code, parents=hierarchy.ancestors(code)))
        assert (alert.region, alert.ely) == (code, hierarchy.ely_of(code))


def test_json_round_trip_keeps_region_and_ely() -> None:
    alert = Alert(**alert_fields())
    text = alert.model_dump_json()
    data = json.loads(text)
    assert (data["region"], data["ely"]) == ("KU240", "ELY15")
    assert Alert.model_validate_json(text) == alert
    assert Alert.model_validate(data) == alert


def test_national_alert_round_trips_with_null_ely() -> None:
    alert = Alert(**alert_fields(area="SSS", parents=()))
    data = json.loads(alert.model_dump_json())
    assert data["ely"] is None
    assert Alert.model_validate_json(alert.model_dump_json()) == alert


@pytest.mark.parametrize(
    "overrides",
    [
        {"region": "KU091"},
        {"region": "MK19"},
        {"ely": "ELY01"},
        {"ely": None},
        {"area": "SSS", "parents": (), "ely": "ELY15"},
        {"area": "MK19", "parents": ("ELY15", "SSS"), "region": "KU240"},
    ],
)
def test_region_or_ely_that_disagree_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        Alert(**alert_fields(**overrides))
    assert "region and ely must agree with area and parents" in str(info.value)


def test_tampered_json_is_rejected() -> None:
    data = json.loads(Alert(**alert_fields()).model_dump_json())
    data["ely"] = "ELY01"
    with pytest.raises(ValidationError, match="region and ely must agree"):
        Alert.model_validate_json(json.dumps(data))


def test_alert_is_frozen_and_strict() -> None:
    alert = Alert(**alert_fields())
    with pytest.raises(ValidationError):
        alert.severity = Severity.CRITICAL  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Alert(**alert_fields(colour="red"))
    with pytest.raises(ValidationError, match="finite number"):
        Alert(**alert_fields(evidence=(alert.evidence[0].model_dump() | {"score": float("nan")},)))


def test_alert_checks_its_codes() -> None:
    with pytest.raises(ValidationError, match="area code 'KU24'"):
        Alert(**alert_fields(area="KU24", parents=("SK192",)))
    with pytest.raises(ValidationError, match="period '2023-13'"):
        Alert(**alert_fields(period="2023-13"))


def test_severity_rank_orders_severities() -> None:
    assert [s.rank for s in (Severity.WATCH, Severity.WARNING, Severity.CRITICAL)] == [1, 2, 3]
    assert AlertKind("tightness") is AlertKind.TIGHTNESS
    assert AlertStatus("resolved") is AlertStatus.RESOLVED
