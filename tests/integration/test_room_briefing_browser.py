"""The room for briefings, in a real headless Chromium, on Statistics Finland's table 12r5.

``tutka room --replay ../shared/data/fi/tyonv_12r5_regions.csv``: the map of Finland (colours
follow the open alerts, a click or Enter filters, drill-down to municipalities), the filters and
the chosen alert in the address, saved views, the CSV that equals the API's filtered list, the
printed situation report (no form controls, one page per alert; PDFs in fi/sv/en) and the phone
layout at 390 x 844. Screenshots and PDFs go to ``test-artifacts/room/``.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.room import ARTIFACTS, Room, chromium, screenshot, wait_for
from tests.shared_data import SHARED_FI

TABLE = SHARED_FI / "tyonv_12r5_regions.csv"
RANK = {"watch": 1, "warning": 2, "notable": 2, "critical": 3, "strong": 3}

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.skipif(not TABLE.exists(), reason=f"shared data file {TABLE} is absent"),
]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    home = tmp_path_factory.mktemp("room12r5")
    env = {"TUTKA_ROOM__DATA_DIR": str(home / "data"), "TUTKA_OUTPUT_DIR": str(home / "out")}
    room = Room(["--replay", str(TABLE)], env, home / "room.log")
    try:
        room.wait_ready()
        yield room
    finally:
        room.stop()
        assert "Traceback" not in room.text(), room.text()[-4000:]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, room: Room, path: str = "/") -> None:
    driver.get(f"{room.base}{path}#token={room.tokens['Demo admin']}")
    wait_for(
        driver, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready") == "true"
    )
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#map path[data-area]"))


def row_ids(driver: WebDriver) -> list[str]:
    ids: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#alerts tbody tr[data-alert-id]')]"
        ".map(r => r.dataset.alertId)"
    )
    return ids


def api_ids(room: Room, **view: str) -> list[str]:
    return [a["id"] for a in room.api("Demo admin", "/api/picture", **view)["alerts"]]


def map_tones(driver: WebDriver) -> dict[str, str]:
    """The map's areas and their colour classes, read in one script."""
    tones: dict[str, str] = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#map path[data-area]')]"
        ".map(p => [p.dataset.area, p.dataset.tone]))"
    )
    return tones


def expected_tones(alerts: list[dict[str, Any]], codes: list[str]) -> dict[str, str]:
    tones = {}
    for code in codes:
        mine = [a for a in alerts if code == a["area"] or code in a["parents"]]
        negative = [RANK[a["severity"]] for a in mine if a["polarity"] == "negative"]
        positive = [RANK[a["severity"]] for a in mine if a["polarity"] == "positive"]
        tones[code] = (
            f"neg-{max(negative)}" if negative else f"pos-{max(positive)}" if positive else "none"
        )
    return tones


def test_the_front_page_lists_negative_changes_above_positive_ones_of_the_same_level(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room)
    everything = room.api("Demo admin", "/api/picture", status="all")["alerts"]
    assert row_ids(browser) == api_ids(room)
    ranked = [(RANK[a["severity"]], a["polarity"]) for a in everything]
    for (rank, polarity), (next_rank, next_polarity) in itertools.pairwise(ranked):
        assert rank >= next_rank
        if rank == next_rank:
            assert (polarity, next_polarity) != ("positive", "negative")
    # Good news is never "critical": severity words for positives are notable and strong.
    assert {a["severity"] for a in everything if a["polarity"] == "positive"} <= {
        "watch", "notable", "strong",
    }  # fmt: skip
    # The COVID-19 national unemployment alert was open through 2020.
    covid = [
        a for a in everything
        if a["area"] == "SSS" and a["kind"] == "unemployment" and a["opened_period"][:4] == "2020"
    ]  # fmt: skip
    assert covid and all((a["resolved_period"] or "9999") >= "2021-01" for a in covid)
    screenshot(browser, "12r5-01-front-page")


def test_the_map_colours_follow_the_alerts_and_a_click_or_enter_filters(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room)
    # Read the map in one go: a live refresh may draw it again between two element reads.
    tones = map_tones(browser)
    codes = list(tones)
    assert len(codes) == 19 and all(c.startswith("MK") for c in codes)
    shown = room.api("Demo admin", "/api/picture")["alerts"]
    assert tones == expected_tones(shown, codes)
    screenshot(browser, "12r5-02-map")

    # A click filters the list to the region, puts it in the address and drills down.
    target = next((c for c in codes if tones[c] != "none"), "MK19")
    browser.find_element(By.CSS_SELECTOR, f'#map path[data-area="{target}"]').click()
    wait_for(browser, lambda d: d.find_element(By.ID, "f-area").get_attribute("value") == target)
    wanted = api_ids(room, area=target)
    wait_for(browser, lambda d: row_ids(d) == wanted)
    assert f"area={target}" in browser.current_url
    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "map").get_attribute("data-level") == "municipalities",
    )
    municipalities = list(map_tones(browser))
    assert municipalities and all(m.startswith("KU") for m in municipalities)
    screenshot(browser, "12r5-03-map-drilled-down")

    # The keyboard: a municipality takes the focus, Enter chooses it; "one level up" goes back.
    code = municipalities[0]

    def press_enter(d: WebDriver) -> bool:
        path = d.find_element(By.CSS_SELECTOR, f'#map path[data-area="{code}"]')
        d.execute_script("arguments[0].focus()", path)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        return d.find_element(By.ID, "f-area").get_attribute("value") == code

    wait_for(browser, press_enter, timeout=15)
    wait_for(browser, lambda d: f"area={code}" in d.current_url)
    # Up: municipality -> sub-region -> region, as the hierarchy has it.
    parents = {a["code"]: a["parent"] for a in room.api("Demo admin", "/api/reference")["areas"]}
    for expected in (parents[code], target):
        browser.find_element(By.ID, "map-up").click()
        wait_for(
            browser,
            lambda d, e=expected: d.find_element(By.ID, "f-area").get_attribute("value") == e,
        )
    # The places table is the map's table alternative: a row for each region with open alerts.
    places = {p["area"]: p for p in room.api("Demo admin", "/api/picture")["places"]}
    assert {c for c in codes if c in places} == {c for c in codes if tones[c] != "none"}


def test_an_ely_area_is_chosen_on_the_map_by_click_or_enter_and_shows_its_regions(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room)
    parents = {a["code"]: a["parent"] for a in room.api("Demo admin", "/api/reference")["areas"]}
    regions = list(map_tones(browser))
    # The ELY layer: the country drawn as its ELY areas, coloured as the alerts under them.
    browser.find_element(By.ID, "map-layer-ely").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-level") == "ely")
    assert browser.find_element(By.ID, "map-layer-ely").get_attribute("aria-pressed") == "true"
    tones = map_tones(browser)
    assert set(tones) == {parents[r] for r in regions}
    assert all(code.startswith("ELY") for code in tones)
    shown = room.api("Demo admin", "/api/picture")["alerts"]
    assert tones == expected_tones(shown, list(tones))
    screenshot(browser, "12r5-06-map-ely-layer")

    # A click chooses the ELY area: the list, the address and the map follow (its regions).
    target = next((c for c in sorted(tones) if tones[c] != "none"), "ELY15")
    browser.find_element(By.CSS_SELECTOR, f'#map path[data-area="{target}"]').click()
    wait_for(browser, lambda d: d.find_element(By.ID, "f-area").get_attribute("value") == target)
    wanted = api_ids(room, area=target)
    wait_for(browser, lambda d: row_ids(d) == wanted)
    assert f"area={target}" in browser.current_url
    wait_for(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-ely") == target)
    assert browser.find_element(By.ID, "map").get_attribute("data-level") == "regions"
    assert set(map_tones(browser)) == {r for r in regions if parents[r] == target}
    assert not browser.find_element(By.ID, "map-layers").is_displayed()
    screenshot(browser, "12r5-07-map-ely-chosen")

    # Up to the country (the ELY layer stays), then the keyboard chooses another ELY area.
    browser.find_element(By.ID, "map-up").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "f-area").get_attribute("value") == "")
    wait_for(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-level") == "ely")
    other = next(c for c in sorted(tones, reverse=True) if c != target)

    def press_enter(d: WebDriver) -> bool:
        path = d.find_element(By.CSS_SELECTOR, f'#map path[data-area="{other}"]')
        d.execute_script("arguments[0].focus()", path)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        return d.find_element(By.ID, "f-area").get_attribute("value") == other

    wait_for(browser, press_enter, timeout=15)
    wanted = api_ids(room, area=other)
    wait_for(browser, lambda d: row_ids(d) == wanted)
    # The table alternative: the places table has a row to choose for every ELY area with alerts.
    places = {p["area"] for p in room.api("Demo admin", "/api/picture")["places"]}
    assert {c for c in tones if tones[c] != "none"} <= places
    browser.find_element(By.ID, "map-up").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "f-area").get_attribute("value") == "")
    # The layer buttons come back when the country's map is drawn (after its geometry loads),
    # a moment after the choice itself.
    wait_for(browser, lambda d: d.find_element(By.ID, "map-layer-regions").is_displayed())
    browser.find_element(By.ID, "map-layer-regions").click()
    wait_for(
        browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-level") == "regions"
    )
    assert set(map_tones(browser)) == set(regions)


def test_the_pdf_button_downloads_the_servers_report_for_the_view(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room, "/?area=ELY15&status=all")
    browser.find_element(By.ID, "lang-sv").click()
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv")
    browser.find_element(By.ID, "export-pdf").click()
    made = wait_for(browser, lambda d: d.execute_script("return window.tutkaRoom.lastPdf"))
    assert made["name"].startswith("muutostutka-lagesbild-") and made["name"].endswith(".pdf")
    assert "area=ELY15" in made["query"] and "lang=sv" in made["query"]
    response = httpx.get(
        f"{room.base}/api/report.pdf?{made['query']}", headers=room.auth("Demo admin"), timeout=60
    )
    response.raise_for_status()
    assert made["bytes"] > 10_000 and response.content[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(response.content))
    words = " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())
    listed = room.api("Demo admin", "/api/picture", area="ELY15", status="all")["alerts"]
    assert len(reader.pages) >= 2 + min(12, len(listed))
    assert "Muutostutka – lägesbild" in words and "Lappland (ELY15)" in words
    for alert in listed[:12]:
        assert f"{alert['area_name']['sv']} ({alert['area']})" in words
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "12r5-server-report-ely15-sv.pdf").write_bytes(response.content)


def test_filters_and_the_alert_live_in_the_address_and_views_can_be_saved(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room, "/?area=MK15&status=all")
    assert browser.find_element(By.ID, "f-area").get_attribute("value") == "MK15"
    wanted = api_ids(room, area="MK15", status="all")
    wait_for(browser, lambda d: row_ids(d) == wanted)
    browser.find_element(By.ID, "views-name").send_keys("Pohjanmaa kaikki")
    browser.find_element(By.ID, "views-save").click()
    browser.find_element(By.ID, "f-reset").click()
    wait_for(browser, lambda d: "area=" not in d.current_url)
    browser.execute_script(
        "const s = document.getElementById('views-list'); s.value = 'Pohjanmaa kaikki';"
        "s.dispatchEvent(new Event('change'));"
    )
    wait_for(browser, lambda d: "area=MK15" in d.current_url and row_ids(d) == wanted)
    wait_for(browser, open_first, timeout=15)
    wait_for(browser, lambda d: "/alerts/al-" in d.current_url and "area=MK15" in d.current_url)


def context_facts(d: WebDriver, panel: str) -> dict[str, str] | None:
    facts: dict[str, str] | None = d.execute_script(
        "const p = document.getElementById(arguments[0]);"
        "if (!p.querySelector('dd[data-fact=level]')) return null;"
        "const out = {area: p.dataset.area, period: p.dataset.period,"
        " points: p.querySelector('svg.sparkline').dataset.points,"
        " opened: p.querySelector('.context-alerts').dataset.opened,"
        " updated: p.querySelector('.context-alerts').dataset.updated};"
        "for (const dd of p.querySelectorAll('dd[data-fact]')) {"
        " out[dd.dataset.fact] = dd.dataset.value; out[dd.dataset.fact + '_text'] ="
        " dd.querySelector('.context-value').textContent; }"
        "return out;",
        panel,
    )
    return facts


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def test_the_context_panel_shows_the_apis_figures_for_the_chosen_area(
    room: Room, browser: WebDriver
) -> None:
    api = room.api("Demo admin", "/api/areas/MK19/context")
    assert api["level"] and api["rate"] and api["year_change"] is not None
    assert len(api["sparkline"]) == 24
    sign_in(browser, room, "/?area=MK19&status=all")
    facts = wait_for(browser, lambda d: context_facts(d, "area-context"))
    assert facts["area"] == "MK19" and facts["period"] == api["period"]
    assert float(facts["level"]) == api["level"] and float(facts["rate"]) == api["rate"]
    assert float(facts["year_change"]) == api["year_change"]
    assert float(facts["month_change"]) == api["month_change"]
    assert digits(facts["level_text"]) == str(round(api["level"]))
    assert digits(facts["year_change_text"]) == str(abs(round(api["year_change"])))
    assert int(facts["points"]) == 24
    # The places table follows the status filter and leaves out the areas with nothing.
    places = room.api("Demo admin", "/api/picture", area="MK19", status="all")["places"]
    assert places and all(p["negative"] + p["positive"] > 0 for p in places)
    wait_for(
        browser,
        lambda d: (
            d.execute_script(
                "return [...document.querySelectorAll('#places tbody tr')].map(r => r.dataset.area)"
            )
            == [p["area"] for p in places]
        ),
    )
    assert (int(facts["opened"]), int(facts["updated"])) == (
        len(api["opened"]), len(api["updated"]),
    )  # fmt: skip
    panel = browser.find_element(By.ID, "places-section")
    browser.execute_script("arguments[0].scrollIntoView()", panel)
    screenshot(browser, "context-panel-mk19")
    # An alert's detail carries the context of its own area.
    wait_for(browser, open_first, timeout=15)
    detail = wait_for(browser, lambda d: context_facts(d, "detail-context"))
    alert_id = browser.find_element(By.ID, "detail").get_attribute("data-alert-id")
    area = room.api("Demo admin", f"/api/alerts/{alert_id}")["alert"]["area"]
    assert detail["area"] == area
    assert float(detail["level"]) == room.api("Demo admin", f"/api/areas/{area}/context")["level"]
    screenshot(browser, "context-in-alert-detail")


def open_first(d: WebDriver) -> bool:
    """Open the first alert (the list may be drawn again meanwhile: find it afresh)."""
    d.find_element(By.CSS_SELECTOR, "#alerts tbody tr[data-alert-id] button.open-alert").click()
    return True


def test_the_csv_export_equals_the_apis_filtered_list(room: Room, browser: WebDriver) -> None:
    sign_in(browser, room, "/?polarity=negative&status=all")
    wanted = api_ids(room, polarity="negative", status="all")
    wait_for(browser, lambda d: row_ids(d) == wanted)
    browser.find_element(By.ID, "export-csv").click()
    text = wait_for(browser, lambda d: d.execute_script("return window.tutkaRoom.lastExport"))
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    listed = [
        a["id"] for a in room.api("Demo admin", "/api/alerts", polarity="negative", status="all")
    ]
    assert [r["id"] for r in table] == listed == wanted
    assert all(r["polarity"] == "negative" for r in table)
    # Excel: a real workbook with the same rows.
    response = httpx.get(
        f"{room.base}/api/export",
        params={"polarity": "negative", "status": "all", "format": "xlsx"},
        headers=room.auth("Demo admin"),
        timeout=10,
    )
    response.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == len(wanted) + 1 and all(i in sheet for i in wanted)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_printed_situation_report_has_no_forms_and_one_page_per_alert(
    room: Room, browser: WebDriver, lang: str
) -> None:
    sign_in(browser, room, "/?status=all")
    browser.find_element(By.ID, f"lang-{lang}").click()
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang)
    assert browser.execute_script("return window.tutkaRoom.buildBriefing().then(() => true)")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    visible_controls = browser.execute_script(
        "return [...document.querySelectorAll('input, select, button, textarea')]"
        ".filter(e => e.getClientRects().length > 0).length"
    )
    assert visible_controls == 0
    sections = browser.find_elements(By.CSS_SELECTOR, "#briefing section.brief-alert")
    assert len(sections) == min(12, len(api_ids(room, status="all")))
    # Each alert's area on paper: its 24 months (a sparkline) and the latest figures.
    charts = browser.execute_script(
        "return [...document.querySelectorAll('#briefing .brief-alert')].map(s => {"
        " const c = s.querySelector('.brief-chart svg.sparkline');"
        " return c ? Number(c.dataset.points) : 0; })"
    )
    assert len(charts) == len(sections) and all(n > 1 for n in charts), charts
    browser.execute_script("arguments[0].scrollIntoView()", sections[0])
    screenshot(browser, f"12r5-situation-report-chart-{lang}")
    breaks = browser.execute_script(
        "return [...document.querySelectorAll('#briefing .brief-alert')]"
        ".map(e => getComputedStyle(e).breakBefore)"
    )
    assert set(breaks) == {"page"}
    assert browser.find_elements(By.CSS_SELECTOR, "#briefing .brief-map svg path")
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
    data = base64.b64decode(pdf["data"])
    assert data[:5] == b"%PDF-"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"12r5-situation-report-{lang}.pdf").write_bytes(data)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_the_phone_layout_keeps_where_what_and_how_bad_in_view(
    room: Room, browser: WebDriver
) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    sign_in(browser, room, "/?status=all")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    wide = browser.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => e.getClientRects().length"
        " && e.getBoundingClientRect().right > 391).slice(0, 8).map(e => e.tagName + '#' + e.id"
        " + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert width <= 390, wide
    # The area cell of the first row: shown, and inside the screen without scrolling sideways.
    box = browser.execute_script(
        "const cell = document.querySelector('#alerts tbody tr[data-alert-id] td:nth-child(4)');"
        "const r = cell.getBoundingClientRect();"
        "return {right: r.right, width: r.width, shown: getComputedStyle(cell).display !== 'none'}"
    )
    assert box["shown"] and box["right"] <= 390 and box["width"] > 0
    order = browser.execute_script(
        "return ['alerts-section', 'filters-section'].map(id =>"
        " document.getElementById(id).getBoundingClientRect().top)"
    )
    assert order[0] < order[1]  # the alerts come before the (folded) filters
    assert browser.find_element(By.ID, "filters-fold").get_attribute("open") is None
    screenshot(browser, "12r5-04-phone")
    browser.find_element(By.ID, "lang-sv").click()
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv")
    wait_for(browser, open_first, timeout=15)
    wait_for(browser, lambda d: d.find_element(By.ID, "detail").is_displayed())
    close = browser.find_element(By.ID, "detail-close")
    box = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", close)
    assert box["left"] >= 0 and box["right"] <= 390
    screenshot(browser, "12r5-05-phone-detail-sv")
