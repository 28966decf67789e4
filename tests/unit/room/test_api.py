"""The room's JSON API: every endpoint, its scope rules, and what it does with bad input."""

from __future__ import annotations

import importlib
import json
import pkgutil
from datetime import date
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import tutka.room.routers
from tests.unit.room.conftest import Alerts, auth, make_service
from tutka.models.alerts import Alert
from tutka.models.events import UnemploymentReported
from tutka.room.routers.pages import STATIC
from tutka.room.service import Service

# -- access -----------------------------------------------------------------------------------


def api_operations(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    return [
        (method.upper(), path.replace("{alert_id}", "al-0123456789abcdef").replace(
            "{subscription_id}", "some-sub").replace("{code}", "KU240"))
        for path, methods in schema["paths"].items()
        for method in methods
    ]  # fmt: skip


def test_the_openapi_document_describes_every_api_route(client: TestClient) -> None:
    """Every /api route of every router module is in the app and in its OpenAPI document."""
    paths = set(client.get("/openapi.json").json()["paths"])
    modules = [
        importlib.import_module(f"tutka.room.routers.{m.name}")
        for m in pkgutil.iter_modules(tutka.room.routers.__path__)
    ]
    routes = {
        route.path
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
    }
    assert routes == paths
    assert len(paths) >= 10


@pytest.mark.parametrize("token", [None, "not-a-token", ""])
def test_every_api_operation_refuses_a_request_without_a_known_token(
    client: TestClient, token: str | None
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for method, path in api_operations(client):
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "alert" not in response.json()  # no data, only the reason


def test_me_describes_the_user_and_what_they_may_do(client: TestClient) -> None:
    me = client.get("/api/me", headers=auth("lappi")).json()
    assert me["scope"] == "ELY15" and me["organisation"] == "ELY15"
    assert me["permissions"] == ["read", "work_cases", "manage_subscriptions", "submit_notices"]
    viewer = client.get("/api/me", headers=auth("viewer")).json()
    assert viewer["permissions"] == ["read"]
    assert (
        "manage_others_subscriptions"
        in client.get("/api/me", headers=auth("admin")).json()["permissions"]
    )


# -- the picture --------------------------------------------------------------------------------


def ids(rows: list[dict[str, object]]) -> set[object]:
    return {r["id"] for r in rows}


def test_national_staff_see_every_open_alert(client: TestClient, alerts: Alerts) -> None:
    picture = client.get("/api/picture", headers=auth("viewer")).json()
    assert ids(picture["alerts"]) == {alerts.kemi.id, alerts.helsinki.id, alerts.country.id}
    assert picture["counts"]["negative"] == 2 and picture["counts"]["positive"] == 1
    assert picture["total"] == 3
    assert picture["status"]["ready"] is True


def test_ely_staff_see_only_the_alerts_under_their_area(client: TestClient, alerts: Alerts) -> None:
    picture = client.get("/api/picture?status=all", headers=auth("lappi")).json()
    assert ids(picture["alerts"]) == {alerts.kemi.id, alerts.resolved.id}
    assert {p["area"] for p in picture["places"]} == {"ELY15", "MK19"}  # none national here
    assert {t["alert_id"] for t in picture["timeline"]} <= {alerts.kemi.id, alerts.resolved.id}
    listed = client.get("/api/alerts?status=all", headers=auth("lappi")).json()
    assert ids(listed) == {alerts.kemi.id, alerts.resolved.id}


def test_an_area_filter_includes_everything_below_it(client: TestClient, alerts: Alerts) -> None:
    for area in ("ELY15", "MK19", "SK192", "KU240"):
        shown = client.get(f"/api/alerts?area={area}", headers=auth("viewer")).json()
        assert ids(shown) == {alerts.kemi.id}, area
    assert client.get("/api/alerts?area=SK191", headers=auth("viewer")).json() == []


def test_filters_by_sector_kind_polarity_severity_and_status(
    client: TestClient, alerts: Alerts
) -> None:
    def shown(query: str) -> set[object]:
        return ids(client.get(f"/api/alerts?{query}", headers=auth("admin")).json())

    assert shown("sector=C") == shown("sector=17") == {alerts.kemi.id}
    assert shown("sector=16") == set()
    assert shown("kind=vacancies") == {alerts.helsinki.id}
    assert shown("polarity=positive") == {alerts.helsinki.id}
    assert shown("min_severity=critical") == {alerts.kemi.id}
    assert shown("min_severity=warning") == {alerts.kemi.id, alerts.helsinki.id}
    assert shown("status=resolved") == {alerts.resolved.id}
    assert len(shown("status=all")) == 4


def test_the_places_table_counts_open_alerts_where_they_lie(client: TestClient) -> None:
    places = {
        p["area"]: p for p in client.get("/api/picture", headers=auth("admin")).json()["places"]
    }
    assert (places["ELY15"]["negative"], places["MK19"]["negative"]) == (1, 1)
    assert places["MK19"]["worst"] == "critical"
    assert (places["ELY01"]["positive"], places["MK01"]["positive"]) == (1, 1)
    assert places["SSS"]["negative"] == 1  # the national alert
    assert "ELY02" not in places and "MK02" not in places  # quiet areas are left out


def test_the_places_table_honours_the_status_filter(client: TestClient, alerts: Alerts) -> None:
    def places(query: str) -> dict[str, tuple[int, int]]:
        picture = client.get(f"/api/picture?{query}", headers=auth("admin")).json()
        return {p["area"]: (p["negative"], p["positive"]) for p in picture["places"]}

    resolved = places("status=resolved")
    assert set(resolved) == {"ELY15", "MK19"}
    assert sum(resolved["MK19"]) == 1  # the resolved KU240 alert, not the open one
    assert sum(places("status=all")["MK19"]) == 2
    assert sum(places("status=open")["MK19"]) == 1


def test_filtering_outside_ones_scope_is_forbidden(client: TestClient) -> None:
    for path in ("/api/picture?area=ELY01", "/api/alerts?area=MK01", "/api/timeline?area=SSS"):
        response = client.get(path, headers=auth("lappi"))
        assert response.status_code == 403, path
        assert "outside your area" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "area=XX99", "area=KU999", "sector=ZZ", "occupation=abc", "kind=weather",
        "polarity=sideways", "min_severity=panic", "status=maybe", "limit=0", "limit=abc",
    ],
)  # fmt: skip
def test_bad_filters_get_a_422_with_the_reason(client: TestClient, query: str) -> None:
    response = client.get(f"/api/picture?{query}", headers=auth("admin"))
    assert response.status_code == 422
    assert response.json()["detail"]


def test_the_timeline_lists_openings_and_resolutions_newest_first(
    client: TestClient, service: Service, alerts: Alerts
) -> None:
    closed = Alert.model_validate(
        {**alerts.helsinki.model_dump(), "sequence": 2, "status": "resolved",
         "resolved_period": "2023-12"}
    )  # fmt: skip
    service.state.add_alert(closed)
    timeline = client.get("/api/timeline?status=all", headers=auth("admin")).json()
    assert (timeline[0]["alert_id"], timeline[0]["change"]) == (alerts.helsinki.id, "resolved")
    assert {(t["alert_id"], t["change"]) for t in timeline} >= {
        (alerts.kemi.id, "opened"),
        (alerts.helsinki.id, "opened"),
    }
    assert len(client.get("/api/timeline?limit=1", headers=auth("admin")).json()) == 1
    # An older version arriving late changes nothing.
    service.state.add_alert(alerts.helsinki)
    assert (
        client.get(f"/api/alerts/{alerts.helsinki.id}", headers=auth("admin")).json()["alert"][
            "status"
        ]
        == "resolved"
    )


def test_reference_lists_areas_sectors_and_kinds(client: TestClient) -> None:
    reference = client.get("/api/reference", headers=auth("viewer")).json()
    areas = {a["code"]: a for a in reference["areas"]}
    assert areas["MK19"]["parent"] == "ELY15" and areas["MK19"]["name"]["sv"] == "Lappland"
    assert "C" in reference["sectors"] and "unemployment" in reference["kinds"]


def test_status_reports_the_source_and_its_progress(client: TestClient) -> None:
    status = client.get("/api/status", headers=auth("viewer")).json()
    assert status["mode"] == "test" and status["ready"] is True and status["alerts"] == 3


# -- one alert ----------------------------------------------------------------------------------


def test_an_alert_comes_with_its_evidence_notices_case_and_chart(
    client: TestClient, service: Service, alerts: Alerts
) -> None:
    for month, value in (("2021-10", 600), ("2022-10", 610), ("2023-09", 640), ("2023-10", 900)):
        service.state.observe(
            UnemploymentReported(
                area="KU240", sector="17", period=month, measure="unemployed_jobseekers",
                value=float(value), published=date(2023, 11, 20),
            )
        )  # fmt: skip
    detail = client.get(f"/api/alerts/{alerts.kemi.id}", headers=auth("lappi")).json()
    assert detail["alert"]["notices"][0]["employer"] == "Kemin Paperi Oy"
    assert detail["case"]["acknowledged_by"] is None
    chart = detail["chart"]
    assert chart["source"] == "series"
    assert [p["period"] for p in chart["values"]] == ["2021-10", "2022-10", "2023-09", "2023-10"]
    assert {p["period"]: p["value"] for p in chart["expected"]}["2023-10"] == 605.0
    assert chart["signals"][0]["baseline"] == 600.0 and chart["opened_period"] == "2023-10"


def test_a_chart_without_recorded_figures_falls_back_to_the_evidence(
    client: TestClient, alerts: Alerts
) -> None:
    chart = client.get(f"/api/alerts/{alerts.kemi.id}", headers=auth("admin")).json()["chart"]
    assert chart["source"] == "evidence"
    assert chart["values"] == [{"period": "2023-10", "value": 900.0}]
    no_evidence = client.get(f"/api/alerts/{alerts.country.id}", headers=auth("admin")).json()
    assert no_evidence["chart"]["source"] == "none"


def test_an_alert_outside_ones_scope_is_forbidden_and_an_unknown_one_not_found(
    client: TestClient, alerts: Alerts
) -> None:
    # Outside the scope answers as unknown does (#14): 404, so that an id does not tell it exists.
    assert client.get(f"/api/alerts/{alerts.helsinki.id}", headers=auth("lappi")).status_code == 404
    assert client.get(f"/api/alerts/{alerts.country.id}", headers=auth("lappi")).status_code == 404
    assert (
        client.get(f"/api/alerts/{alerts.helsinki.id}/case", headers=auth("lappi")).status_code
        == 404
    )
    assert client.get("/api/alerts/al-0000000000000000", headers=auth("admin")).status_code == 404
    assert client.get("/api/alerts/../../etc", headers=auth("admin")).status_code == 404
    assert client.get("/api/alerts/not-an-id", headers=auth("admin")).status_code == 422


# -- case work ----------------------------------------------------------------------------------


def post_case(client: TestClient, alert_id: str, who: str, body: object) -> object:
    return client.post(f"/api/alerts/{alert_id}/case", headers=auth(who), json=body)


def test_case_work_is_recorded_and_folded(
    client: TestClient, service: Service, alerts: Alerts, tmp_path: Path
) -> None:
    steps = [
        {"type": "acknowledged"},
        {"type": "assigned", "assignee": "Elinkeinotiimi"},
        {"type": "note", "text": "Soitettu yritykselle; muutosneuvottelut alkavat."},
        {"type": "marked", "assessment": "new_trend"},
        {"type": "action_linked", "title": "Muutosturvatiimi", "url": "https://example.fi/mt"},
    ]
    for step in steps:
        response = post_case(client, alerts.kemi.id, "lappi", step)
        assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    case = client.get(f"/api/alerts/{alerts.kemi.id}/case", headers=auth("viewer")).json()
    assert case["acknowledged_by"] == "lappi" and case["assignee"] == "Elinkeinotiimi"
    assert case["assessment"] == "new_trend" and case["notes"][0]["actor"] == "lappi"
    assert case["actions"][0]["url"] == "https://example.fi/mt"
    assert [e["action"]["type"] for e in case["log"]] == [s["type"] for s in steps]
    journal = (tmp_path / "room" / "casenotes.jsonl").read_text().splitlines()
    assert [json.loads(line)["action"]["type"] for line in journal] == [s["type"] for s in steps]
    assert all(json.loads(line)["ely"] == "ELY15" for line in journal)
    summary = client.get("/api/picture", headers=auth("admin")).json()["alerts"]
    assert next(a for a in summary if a["id"] == alerts.kemi.id)["case"]["notes"] == 1


def test_a_second_room_on_the_same_journal_shows_the_same_case(
    client: TestClient, alerts: Alerts, tmp_path: Path
) -> None:
    post_case(client, alerts.kemi.id, "lappi", {"type": "acknowledged"})
    other = make_service(tmp_path / "room")  # reads the journal as it starts
    try:
        state = other.state.case(alerts.kemi.id)
        assert state is not None and state.acknowledged_by == "lappi"
        post_case(client, alerts.kemi.id, "national", {"type": "marked", "assessment": "expected"})
        assert other.cases is not None
        other.cases.read_new()  # type: ignore[attr-defined]
        later = other.state.case(alerts.kemi.id)
        assert later is not None and later.assessment == "expected" and len(later.log) == 2
    finally:
        other.close()


def test_viewers_and_out_of_scope_staff_may_not_work_cases(
    client: TestClient, alerts: Alerts
) -> None:
    refused = post_case(client, alerts.kemi.id, "viewer", {"type": "acknowledged"})
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]  # type: ignore[attr-defined]
    outside = post_case(client, alerts.kemi.id, "uusimaa", {"type": "acknowledged"})
    assert outside.status_code == 404  # type: ignore[attr-defined]  (as if unknown: #14)
    unknown = post_case(client, "al-0000000000000000", "admin", {"type": "acknowledged"})
    assert unknown.status_code == 404  # type: ignore[attr-defined]
    case = client.get(f"/api/alerts/{alerts.kemi.id}/case", headers=auth("admin")).json()
    assert case["log"] == []


@pytest.mark.parametrize(
    "body",
    [
        {}, {"type": "shrugged"}, {"type": "note"}, {"type": "note", "text": "   "},
        {"type": "note", "text": "x" * 2001}, {"type": "note", "text": "bell\x07"},
        {"type": "assigned", "assignee": ""}, {"type": "marked", "assessment": "maybe"},
        {"type": "action_linked", "title": "t", "url": "javascript:alert(1)"},
        {"type": "acknowledged", "actor": "someone-else"}, [], "ack",
    ],
)  # fmt: skip
def test_bad_case_work_gets_a_422_and_records_nothing(
    client: TestClient, alerts: Alerts, body: object
) -> None:
    response = post_case(client, alerts.kemi.id, "admin", body)
    assert response.status_code == 422  # type: ignore[attr-defined]
    case = client.get(f"/api/alerts/{alerts.kemi.id}/case", headers=auth("admin")).json()
    assert case["log"] == []


def test_a_bad_line_in_the_journal_is_set_aside_not_fatal(tmp_path: Path, alerts: Alerts) -> None:
    journal = tmp_path / "room" / "casenotes.jsonl"
    journal.parent.mkdir(parents=True)
    good = {"id": "e1", "alert_id": alerts.kemi.id, "actor": "aino",
            "at": "2024-01-02T10:00:00Z", "action": {"type": "acknowledged"}}  # fmt: skip
    journal.write_text("{not json\n" + json.dumps(good) + "\n")
    service = make_service(tmp_path / "room")
    try:
        state = service.state.case(alerts.kemi.id)
        assert state is not None and state.acknowledged_by == "aino"
        assert service.state.status.dead_letters == 1
        assert service.dead_letters[0].origin.line == 1
        assert service.dead_letters[0].raw == "{not json"
    finally:
        service.close()


# -- subscriptions ------------------------------------------------------------------------------


def put_sub(client: TestClient, who: str, sub_id: str, body: dict[str, object]) -> object:
    return client.put(f"/api/subscriptions/{sub_id}", headers=auth(who), json=body)


def test_ely_staff_manage_their_own_subscriptions(client: TestClient, tmp_path: Path) -> None:
    made = put_sub(
        client, "lappi", "lappi-paperi", {"filters": {"areas": ["MK19"], "sectors": ["17"]}}
    )
    assert made.status_code == 200, made.text  # type: ignore[attr-defined]
    sub = made.json()  # type: ignore[attr-defined]
    assert (sub["owner"], sub["scope"], sub["revision"]) == ("ELY15", "own", 0)
    again = put_sub(client, "lappi", "lappi-paperi", {"filters": {"kinds": ["layoff_notices"]}})
    assert again.json()["revision"] == 1  # type: ignore[attr-defined]
    assert [s["id"] for s in client.get("/api/subscriptions", headers=auth("lappi")).json()] == [
        "lappi-paperi"
    ]
    assert client.get("/api/subscriptions", headers=auth("uusimaa")).json() == []
    assert len(client.get("/api/subscriptions", headers=auth("viewer")).json()) == 1
    assert (
        client.delete("/api/subscriptions/lappi-paperi", headers=auth("lappi")).status_code == 204
    )
    assert client.get("/api/subscriptions", headers=auth("lappi")).json() == []
    changes = (tmp_path / "room" / "subscriptions.jsonl").read_text().splitlines()
    assert [json.loads(c)["type"] for c in changes] == ["upsert", "upsert", "removal"]


@pytest.mark.parametrize(
    ("who", "sub_id", "body", "status", "reason"),
    [
        ("lappi", "x-out", {"filters": {"areas": ["MK01"]}}, 422, "outside"),
        ("lappi", "x-nat", {"scope": "national"}, 403, "national staff"),
        ("lappi", "x-other", {"owner": "ELY01"}, 403, "may not"),
        ("lappi-admin", "x-other", {"owner": "ELY01"}, 403, "manage only ELY15"),
        ("viewer", "x-view", {}, 403, "viewer"),
        ("national", "x-tem", {"owner": "ELY01"}, 403, "may not"),
        (
            "admin",
            "x-webhook",
            {"scope": "national", "delivery": {"type": "webhook", "url": "https://e.fi/h"}},
            422,
            "sign",
        ),
        ("admin", "x-unknown", {"filters": {"areas": ["KU999"]}}, 422, "KU999"),
        ("admin", "X_BAD", {}, 422, ""),
        ("admin", "x-extra", {"revision": 7}, 422, ""),
        ("admin", "x-kind", {"filters": {"kinds": ["weather"]}}, 422, ""),
    ],
)
def test_subscriptions_outside_ones_scope_or_role_are_refused(
    client: TestClient, who: str, sub_id: str, body: dict[str, object], status: int, reason: str
) -> None:
    response = put_sub(client, who, sub_id, body)
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert reason in json.dumps(response.json())  # type: ignore[attr-defined]
    assert client.get("/api/subscriptions", headers=auth("admin")).json() == []


def test_national_admins_manage_any_subscription_and_national_ones(client: TestClient) -> None:
    assert put_sub(client, "admin", "for-lappi", {"owner": "ELY15"}).status_code == 200  # type: ignore[attr-defined]
    national = put_sub(client, "admin", "tem-all", {"scope": "national", "owner": "TEM"})
    assert national.status_code == 200  # type: ignore[attr-defined]
    assert [s["id"] for s in client.get("/api/subscriptions", headers=auth("lappi")).json()] == [
        "for-lappi"
    ]
    # Staff of another organisation neither see nor remove it.
    assert client.delete("/api/subscriptions/tem-all", headers=auth("lappi")).status_code == 404
    hijack = put_sub(client, "lappi", "tem-all", {})
    assert hijack.status_code == 404  # type: ignore[attr-defined]  (as if it did not exist)
    # National analysts belong to TEM: its subscriptions are theirs to manage, others' are not.
    assert (
        client.delete("/api/subscriptions/for-lappi", headers=auth("national")).status_code == 403
    )
    assert client.delete("/api/subscriptions/tem-all", headers=auth("national")).status_code == 204
    assert client.delete("/api/subscriptions/for-lappi", headers=auth("admin")).status_code == 204
    assert client.delete("/api/subscriptions/no-such", headers=auth("admin")).status_code == 404


# -- the page, metrics ------------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_without_a_token(client: TestClient) -> None:
    for path in ("/", "/alerts/al-0123456789abcdef"):
        page = client.get(path)
        assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/healthz").json() == {"ok": True, "ready": True}
    assert "tutka_room_alert_versions_total 4.0" in client.get("/metrics").text


def test_every_asset_is_served_by_the_project_no_cdn() -> None:
    assets = [p for p in STATIC.rglob("*") if p.is_file()]
    assert {p.suffix for p in assets} >= {".html"}
    for asset in assets:
        text = asset.read_text(encoding="utf-8")
        for scheme in ("http://", "https://", "//cdn", "@import url("):
            assert scheme not in text.replace("http://www.w3.org/2000/svg", ""), (asset, scheme)


def test_interactive_docs_are_off_because_they_load_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_a_replacement_keeps_the_owner_and_a_national_body_defaults_to_national_scope(
    client: TestClient,
) -> None:
    assert put_sub(client, "lappi", "lappi-kemi", {}).status_code == 200  # type: ignore[attr-defined]
    edited = put_sub(client, "admin", "lappi-kemi", {"filters": {"sectors": ["C"]}})
    assert edited.json()["owner"] == "ELY15" and edited.json()["revision"] == 1  # type: ignore[attr-defined]
    tem = put_sub(client, "admin", "tem-kaikki", {})
    assert (tem.json()["owner"], tem.json()["scope"]) == ("TEM", "national")  # type: ignore[attr-defined]


def test_live_alert_messages_name_what_changed(client: TestClient, service: Service) -> None:
    import asyncio

    from tests.factories import alert as make
    from tutka.models.access import Principal

    async def listen_once() -> dict[str, object]:
        listener = service.state.listen(Principal(name="x", role="viewer"))
        service.state.add_alert(make("KU698"))
        return await asyncio.wait_for(listener.queue.get(), 5)

    message = asyncio.run(listen_once())
    assert {k: message[k] for k in ("type", "change", "kind", "severity", "area")} == {
        "type": "alert", "change": "opened", "kind": "unemployment", "severity": "warning",
        "area": "KU698",
    }  # fmt: skip


# -- one area's context -------------------------------------------------------------------------


def test_an_areas_context_has_level_rate_year_change_and_the_latest_release(
    client: TestClient, service: Service, alerts: Alerts
) -> None:
    months = [f"2022-{m:02d}" for m in range(1, 13)] + [f"2023-{m:02d}" for m in range(1, 11)]
    for i, month in enumerate(months):
        service.state.observe(
            UnemploymentReported(
                area="KU240", period=month, measure="unemployed_jobseekers",
                value=float(500 + i), published=date(2023, 11, 20),
            )
        )  # fmt: skip
    service.state.observe(
        UnemploymentReported(
            area="KU240", period="2023-10", measure="labour_force", value=10420.0,
            published=date(2023, 11, 20),
        )
    )  # fmt: skip
    response = client.get("/api/areas/KU240/context", headers=auth("lappi"))
    assert response.status_code == 200
    context = response.json()
    assert context["period"] == "2023-10" and context["level"] == 521.0
    assert context["rate"] == pytest.approx(521 / 10420)
    assert context["year_ago"] == 509.0 and context["year_change"] == 12.0
    assert context["previous_period"] == "2023-09" and context["month_change"] == 1.0
    assert [p["period"] for p in context["sparkline"]] == months
    assert alerts.kemi.id in context["opened"]
    assert context["name"]["fi"] == "Kemi"


def test_an_area_outside_the_scope_is_404_as_an_unknown_one(client: TestClient) -> None:
    assert client.get("/api/areas/KU240/context", headers=auth("uusimaa")).status_code == 404
    assert client.get("/api/areas/MK19/context", headers=auth("uusimaa")).status_code == 404
    assert client.get("/api/areas/KU999/context", headers=auth("admin")).status_code in (404, 422)
    empty = client.get("/api/areas/MK01/context", headers=auth("uusimaa")).json()
    assert empty["level"] is None and empty["sparkline"] == []
    assert client.get("/api/areas/KU240/context").status_code == 401
