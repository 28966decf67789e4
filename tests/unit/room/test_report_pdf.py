"""The situation report as a PDF: it parses, speaks the language asked, lists what the picture
lists for the same filters, keeps to the reader's ELY area and refuses strangers."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.unit.room.conftest import Alerts, auth
from tutka.models.alerts import Alert
from tutka.models.events import UnemploymentReported
from tutka.room.briefing import headline, text
from tutka.room.service import Service

TITLES = {"fi": "tilannekatsaus", "sv": "lägesbild", "en": "situation report"}


def flat(data: bytes) -> tuple[int, str]:
    """The PDF's page count and its text with whitespace collapsed."""
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(
        " ".join(page.extract_text() or "" for page in reader.pages).split()
    )


def picture_alerts(client: TestClient, who: str, query: str) -> list[Alert]:
    listed = client.get(f"/api/alerts?{query}", headers=auth(who)).json()
    return [Alert.model_validate(a) for a in listed]


@pytest.fixture
def figures(service: Service) -> Service:
    """Two years of Kemi's series, so the chart draws recorded figures."""
    for i in range(24):
        year, month = divmod(i, 12)
        service.state.observe(
            UnemploymentReported(
                area="KU240",
                period=f"{2022 + year}-{month + 1:02d}",
                measure="unemployed_jobseekers",
                value=600.0 + 10 * i + (300 if i > 20 else 0),
                published=date(2023 + year, 1, 20),
                sector="17",
            )
        )
    return service


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_pdf_has_the_title_the_table_and_a_page_per_alert_in_each_language(
    client: TestClient, figures: Service, lang: str
) -> None:
    query = "status=all"
    response = client.get(f"/api/report.pdf?{query}&lang={lang}", headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.pdf"')
    pages, words = flat(response.content)
    listed = picture_alerts(client, "admin", query)
    assert listed
    # The title page (with the map), the table, then a page per alert.
    assert pages >= 2 + len(listed)
    assert text("title", lang) in words and TITLES[lang] in words.lower()
    for number, alert in enumerate(listed, start=1):
        assert " ".join(headline(number, alert, lang).split()) in words
        assert " ".join(getattr(alert.explanation, lang).split())[:60] in words
    assert text("source", lang) in words and "CC BY 4.0" in words
    for other in set(TITLES) - {lang}:
        assert text("title", other) not in words


def test_the_pdf_follows_the_filters_and_the_order_of_the_picture(
    client: TestClient, alerts: Alerts
) -> None:
    for query in ("polarity=positive", "area=ELY15&status=all", "status=resolved"):
        listed = picture_alerts(client, "admin", query)
        response = client.get(f"/api/report.pdf?{query}&lang=en", headers=auth("admin"))
        assert response.status_code == 200, (query, response.text)
        _, words = flat(response.content)
        positions = [
            words.find(" ".join(headline(i, a, "en").split()))
            for i, a in enumerate(listed, start=1)
        ]
        assert all(p >= 0 for p in positions), (query, words)
        assert positions == sorted(positions)
        # The others have no section: "<what> · <where> (<code>)" heads only the listed ones.
        ids = {a.id for a in listed}
        for other in (alerts.kemi, alerts.helsinki, alerts.country, alerts.resolved):
            if other.id not in ids:
                assert headline(1, other, "en").split(". ", 1)[1] not in words, query


def test_an_ely_analysts_pdf_holds_only_their_area(client: TestClient, alerts: Alerts) -> None:
    response = client.get("/api/report.pdf?status=all&lang=fi", headers=auth("lappi"))
    assert response.status_code == 200
    _, words = flat(response.content)
    assert "(KU240)" in words and "Lappi (ELY15)" in words
    assert "(MK01)" not in words and "Helsinki" not in words and "Uusimaa" not in words
    assert "(SSS)" not in words
    # Another ELY area asked for outright is refused, as the picture refuses it.
    assert client.get("/api/report.pdf?area=ELY01", headers=auth("lappi")).status_code == 403
    assert client.get("/api/report.pdf?area=ELY01", headers=auth("uusimaa")).status_code == 200


def test_no_token_no_report(client: TestClient) -> None:
    assert client.get("/api/report.pdf").status_code == 401
    assert client.get("/api/report.pdf", headers=auth("nobody")).status_code == 401


def test_nothing_personal_goes_in(client: TestClient, alerts: Alerts) -> None:
    steps = [
        {"type": "acknowledged"},
        {"type": "assigned", "assignee": "Maija Meikäläinen"},
        {"type": "note", "text": "Soitettu Maijalle kotiin"},
    ]
    for step in steps:
        url = f"/api/alerts/{alerts.kemi.id}/case"
        assert client.post(url, headers=auth("lappi"), json=step).status_code == 201
    _, words = flat(client.get("/api/report.pdf?status=all", headers=auth("admin")).content)
    assert "Maija" not in words and "Meikäläinen" not in words and "lappi" not in words


def test_an_empty_view_still_makes_a_report(client: TestClient) -> None:
    response = client.get("/api/report.pdf?kind=tightness&lang=sv", headers=auth("admin"))
    assert response.status_code == 200
    pages, words = flat(response.content)
    assert pages == 2 and "Inga larm i den här vyn." in words


def test_the_map_draws_the_scopes_areas_in_the_rooms_colours(
    service: Service, alerts: Alerts
) -> None:
    from reportlab.graphics.shapes import Path as ShapePath
    from reportlab.lib import colors

    from tutka.models.access import Principal
    from tutka.room.briefing import briefing_of
    from tutka.room.pdf import TONES, map_drawing, region_codes
    from tutka.streams.picture import View

    def made(scope: str, area: str | None) -> tuple[str, tuple[str, ...], list[str]]:
        user = Principal(name="x", role="viewer", scope=scope)
        view = View(area=area or (None if scope == "SSS" else scope), status="all")
        briefing = briefing_of(
            service.state, service.sectors, user, view, "fi", region_codes(), date(2024, 1, 1)
        )
        drawing = map_drawing(briefing, 400, 600)
        fills = [
            s.fillColor.hexval() for s in drawing.contents
            if isinstance(s, ShapePath) and s.fillColor is not None
        ]  # fmt: skip
        return briefing.map_area, briefing.map_codes, fills

    level, codes, fills = made("SSS", None)
    assert level == "regions" and len(codes) == 19 and len(fills) == 19
    # Lapland has a critical negative change, Uusimaa a positive one, the rest nothing open.
    hexes = {name: colors.HexColor(value).hexval() for name, value in TONES.items()}
    lapland, uusimaa = codes.index("MK19"), codes.index("MK01")
    assert fills[lapland] == hexes["neg-3"]
    assert fills[uusimaa] == hexes[f"pos-{alerts.helsinki.severity.rank}"]
    assert fills.count(hexes["none"]) == 17
    level, codes, fills = made("ELY15", None)
    assert (level, codes, fills) == ("regions", ("MK19",), [hexes["neg-3"]])
    level, codes, _ = made("SSS", "KU240")
    assert level == "municipalities" and "KU240" in codes and all(c.startswith("KU") for c in codes)
