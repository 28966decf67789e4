"""Exports of the filtered view: the CSV and the workbook list exactly what ``/api/alerts`` does."""

from __future__ import annotations

import csv
import io
import zipfile

from fastapi.testclient import TestClient

from tests.unit.room.conftest import Alerts, auth


def test_the_csv_lists_the_views_alerts_in_the_apis_order(
    client: TestClient, alerts: Alerts
) -> None:
    for query in ("status=all", "polarity=positive", "area=ELY15&status=all", "status=resolved"):
        listed = [a["id"] for a in client.get(f"/api/alerts?{query}", headers=auth("admin")).json()]
        response = client.get(f"/api/export?{query}&lang=sv", headers=auth("admin"))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert [r["id"] for r in rows] == listed, query
    kemi = next(
        r
        for r in csv.DictReader(
            io.StringIO(
                client.get("/api/export?status=all&lang=sv", headers=auth("admin")).text.lstrip(
                    "\ufeff"
                )
            )
        )
        if r["id"] == alerts.kemi.id
    )
    assert kemi["explanation"] == alerts.kemi.explanation.sv


def test_the_workbook_has_a_header_and_a_row_per_alert(client: TestClient) -> None:
    listed = client.get("/api/alerts?status=all", headers=auth("admin")).json()
    response = client.get("/api/export?status=all&format=xlsx", headers=auth("admin"))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        assert "xl/workbook.xml" in book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == len(listed) + 1
    assert all(a["id"] in sheet for a in listed)


def test_an_ely_analyst_exports_only_their_area(client: TestClient, alerts: Alerts) -> None:
    mine = [a["id"] for a in client.get("/api/alerts?status=all", headers=auth("lappi")).json()]
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/export?status=all", headers=auth("lappi")).text.lstrip("\ufeff")
            )
        )
    )
    assert [r["id"] for r in rows] == mine
    assert client.get("/api/export").status_code == 401
