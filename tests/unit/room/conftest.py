"""A room with known alerts and staff, served by FastAPI's test client (no pipeline thread)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import SHIPPED, alert
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import RoomUser, WebhookSettings
from tutka.models.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity
from tutka.room.api import create_app
from tutka.room.service import Service, keep_journals_in
from tutka.room.state import Status
from tutka.room.tokens import token_hash

#: (name, role, scope) → the token is the name itself, for readable tests.
STAFF = {
    "admin": ("admin", "SSS"),
    "national": ("analyst", "SSS"),
    "lappi": ("analyst", "ELY15"),
    "lappi-admin": ("admin", "ELY15"),
    "uusimaa": ("analyst", "ELY01"),
    "viewer": ("viewer", "SSS"),
    "lappi-viewer": ("viewer", "ELY15"),
}


def users() -> list[RoomUser]:
    return [
        RoomUser(name=name, role=role, scope=scope, token_sha256=token_hash(name))  # type: ignore[arg-type]
        for name, (role, scope) in STAFF.items()
    ]


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


@dataclass
class Alerts:
    kemi: Alert  # KU240, under ELY15 (Lappi), critical negative, sector 17
    helsinki: Alert  # MK01, under ELY01 (Uusimaa), positive vacancies
    country: Alert  # SSS, national
    resolved: Alert  # KU240, resolved


def sample_alerts() -> Alerts:
    kemi = alert(
        "KU240",
        sector="17",
        severity=Severity.CRITICAL,
        kind=AlertKind.UNEMPLOYMENT,
        evidence=(
            {
                "detector": "seasonal_baseline",
                "series": "KU240/unemployed_jobseekers/tol:17",
                "area": "KU240",
                "measure": "unemployed_jobseekers",
                "period": "2023-10",
                "value": 900.0,
                "baseline": 600.0,
                "score": 5.0,
                "threshold": 3.5,
                "direction": "up",
            },
        ),
        notices=(
            {
                "notice_id": "n-1",
                "employer": "Kemin Paperi Oy",
                "business_id": "1234567-8",
                "municipality": "KU240",
                "sector": "17",
                "kind": "dismissal",
                "persons": 420,
                "announced": "2023-09-01",
                "effective_from": "2023-11-01",
            },
        ),
    )
    helsinki = alert("MK01", kind=AlertKind.VACANCIES, polarity=Polarity.POSITIVE)
    country = alert("SSS", kind=AlertKind.TEMPORARY_LAYOFFS, severity=Severity.WATCH)
    resolved = alert(
        "KU240",
        kind=AlertKind.LAYOFF_NOTICES,
        status=AlertStatus.RESOLVED,
        resolved_period="2023-12",
        sequence=2,
    )
    return Alerts(kemi, helsinki, country, resolved)


def make_service(data_dir: Path) -> Service:
    service = Service(SHIPPED, Status(mode="test", source="test"), localized_sector_names())
    keep_journals_in(service, data_dir)
    return service


@pytest.fixture
def alerts() -> Alerts:
    return sample_alerts()


@pytest.fixture
def service(tmp_path: Path, alerts: Alerts) -> Iterator[Service]:
    service = make_service(tmp_path / "room")
    for a in (alerts.kemi, alerts.helsinki, alerts.country, alerts.resolved):
        service.state.add_alert(a)
    service.state.set_ready(True, "test data")
    yield service
    service.close()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    app = create_app(service, users(), WebhookSettings())
    with TestClient(app) as client:
        yield client
