"""Schemathesis against the room's own OpenAPI document: generated requests to every operation,
signed in as national and as ELY-scoped staff, never get a server error, and every answer matches
the document (status code, content type, body schema).

(Schemathesis' pytest plugin does not run under this pytest; its Hypothesis strategies do.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.unit.room.conftest import auth, make_service, sample_alerts, users
from tutka.config.settings import WebhookSettings
from tutka.room.api import create_app
from tutka.room.intake import EmbeddedOutlet


def _app() -> Any:
    home = Path(tempfile.mkdtemp(prefix="tutka-schema-")) / "room"
    service = make_service(home)
    service.notices = EmbeddedOutlet(home / "notices.jsonl")  # fuzzed uploads are read for real
    alerts = sample_alerts()
    for a in (alerts.kemi, alerts.helsinki, alerts.country, alerts.resolved):
        service.state.add_alert(a)
    service.state.set_ready(True)
    return create_app(service, users(), WebhookSettings())


SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", _app())
OPERATIONS = [
    (path, method.upper())
    for path, methods in SCHEMA.raw_schema["paths"].items()
    for method in methods
    if path != "/api/stream"  # never ends: tested by test_stream.py
]


@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "lappi"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_generated_requests_get_documented_answers(path: str, method: str, who: str) -> None:
    operation = SCHEMA[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        # Values of the right shape may still be refused with 422: an area code that is not in
        # the hierarchy, a subscription outside its scope. The schema cannot say that, so the
        # "schema-valid data is accepted" check does not apply; every other check does.
        case.call_and_validate(headers=auth(who), excluded_checks=[positive_data_acceptance])

    check()
