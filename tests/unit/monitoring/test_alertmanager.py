"""Alerts mapped to Alertmanager's v2 API, and the pusher that posts them over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import alert
from tests.receiver import PostRecorder
from tutka.config.settings import AlertmanagerSettings
from tutka.models.alerts import AlertKind, AlertStatus, Localized, Severity
from tutka.monitoring.metrics import create_metrics
from tutka.monitoring.pusher import AlertmanagerPusher
from tutka.streams import alertmanager as am

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_labels_name_the_area_its_parents_and_the_kind_of_change() -> None:
    labels = am.labels(alert("KU240", sector="C", severity=Severity.CRITICAL))
    assert labels == {
        "alertname": "MuutostutkaStructuralChange",
        "alert_id": labels["alert_id"],
        "area": "KU240",
        "area_level": "KU",
        "region": "MK19",
        "ely": "ELY15",
        "kind": "unemployment",
        "polarity": "negative",
        "severity": "critical",
        "sector": "C",
        "occupation": "all",
    }
    assert labels["alert_id"] == alert("KU240", sector="C").id


def test_a_national_alert_has_ely_sss_and_no_region() -> None:
    labels = am.labels(alert("SSS"))
    assert labels["ely"] == "SSS" and labels["area_level"] == "SSS" and "region" not in labels


def test_annotations_carry_the_three_languages_and_the_evidence_link() -> None:
    text = Localized(fi="Työttömyys kasvoi.", sv="Arbetslösheten ökade.", en="Unemployment rose.")
    item = am.postable(alert("KU240", explanation=text), NOW, 240, "https://room.example/alerts/")
    notes = item["annotations"]
    assert (notes["description_fi"], notes["description_sv"], notes["description_en"]) == (
        text.fi, text.sv, text.en,
    )  # fmt: skip
    assert notes["evidence_url"] == item["generatorURL"]
    assert notes["evidence_url"].startswith("https://room.example/alerts/")
    assert item["endsAt"] == "2026-11-24T12:04:00Z"
    assert item["startsAt"] == "2023-11-20T00:00:00Z"


def test_a_resolved_alert_ends_now() -> None:
    item = am.postable(alert("KU240", status=AlertStatus.RESOLVED), NOW, 240, "x/")
    assert item["endsAt"] == "2026-11-24T12:00:00Z"


class Receiver(PostRecorder):
    """Stands in for Alertmanager: fails the next ``failures`` posts with a 503."""

    def __init__(self) -> None:
        self.failures = 0
        super().__init__(self.respond)

    def respond(self, path: str) -> int:
        assert path == "/api/v2/alerts"
        if self.failures > 0:
            self.failures -= 1
            return 503
        return 200

    def posted(self) -> list[dict[str, Any]]:
        return [item for _, body in self.posts for item in body]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def pusher_for(url: str, **overrides: Any) -> AlertmanagerPusher:
    settings = AlertmanagerSettings(urls=[url], backoff_seconds=0.01, **overrides)
    clock = iter(NOW + timedelta(seconds=i) for i in range(10_000))
    return AlertmanagerPusher(settings, create_metrics(), clock=lambda: next(clock)).start()


def test_an_escalation_resolves_the_old_label_set(receiver: Receiver) -> None:
    pusher = pusher_for(receiver.url)
    pusher.submit(alert("KU240", severity=Severity.WARNING))
    pusher.submit(alert("KU240", severity=Severity.CRITICAL, status=AlertStatus.UPDATED))
    assert pusher.drain(10)
    pusher.stop()
    posted = receiver.posted()
    firing = [p for p in posted if p["endsAt"] > p["startsAt"] and p["endsAt"] > "2026-11-24T12:01"]
    ended = [p for p in posted if p not in firing]
    assert [p["labels"]["severity"] for p in firing] == ["warning", "critical"]
    assert [p["labels"]["severity"] for p in ended] == ["warning"]


def test_sync_reposts_the_open_alerts_and_resolves_those_no_longer_open(receiver: Receiver) -> None:
    pusher = pusher_for(receiver.url)
    kemi, rauma = alert("KU240"), alert("KU684", kind=AlertKind.TEMPORARY_LAYOFFS)
    pusher.submit(kemi)
    pusher.submit(rauma)
    pusher.sync([rauma])
    assert pusher.drain(10)
    pusher.stop()
    last = receiver.posted()[-2:]
    by_area = {p["labels"]["area"]: p for p in last}
    assert set(by_area) == {"KU240", "KU684"}
    assert by_area["KU240"]["endsAt"] <= "2026-11-24T12:00:10Z"  # resolved: ends now
    assert by_area["KU684"]["endsAt"] > "2026-11-24T12:03:00Z"  # firing: held ahead


def test_failures_are_retried_with_backoff_and_counted(receiver: Receiver) -> None:
    receiver.failures = 2
    pusher = pusher_for(receiver.url)
    pusher.submit(alert("KU240"))
    assert pusher.drain(10)
    pusher.stop()
    assert len(receiver.posted()) == 1
    assert pusher.metrics is not None
    assert pusher.metrics.alertmanager_retries._value.get() == 2
    assert pusher.metrics.alertmanager_posts.labels(outcome="ok")._value.get() == 1


def test_an_unreachable_alertmanager_never_blocks_or_raises() -> None:
    pusher = pusher_for("http://127.0.0.1:9", max_attempts=2, queue_size=10)
    for i in range(50):  # far more than the queue holds: the surplus is dropped, counted
        pusher.submit(alert("KU240", sequence=i + 1))
    assert pusher.drain(20)
    pusher.stop()
    assert pusher.metrics is not None
    assert pusher.metrics.alertmanager_posts.labels(outcome="failed")._value.get() >= 1
    assert pusher.metrics.alertmanager_dropped._value.get() > 0


def test_without_urls_nothing_is_started_or_sent() -> None:
    pusher = AlertmanagerPusher(AlertmanagerSettings()).start()
    pusher.submit(alert("KU240"))
    assert not pusher.enabled and pusher.drain(0.1)
