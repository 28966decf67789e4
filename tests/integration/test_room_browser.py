"""The situation room in a real headless Chromium, on the demo's data (``tutka room --demo``).

What staff do: load the room, see the alerts the API says are there, filter, open an alert and
see its chart, acknowledge it and watch the acknowledgement appear in a second session without
a reload, switch language, work it with the keyboard, manage a subscription. Screenshots go to
``test-artifacts/room/``; the page-load time is printed (``-s``) for the closing note.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.integration.room import Room, chromium, screenshot, wait_for
from tests.notice_sheets import csv_bytes, good_row


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    home = tmp_path_factory.mktemp("room")
    env = {"TUTKA_ROOM__DATA_DIR": str(home / "data"), "TUTKA_OUTPUT_DIR": str(home / "out")}
    room = Room(["--demo"], env, home / "room.log")
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


@pytest.fixture
def second_browser() -> Iterator[WebDriver]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, room: Room, who: str, path: str = "/") -> float:
    """Open the room signed in; returns the page's first render time in ms after navigation."""
    driver.get(f"{room.base}{path}#token={room.tokens[who]}")
    wait_for(
        driver, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready") == "true"
    )
    wait_for(
        driver,
        lambda d: d.execute_script("return window.tutkaRoom && window.tutkaRoom.firstRenderMs"),
    )
    return float(driver.execute_script("return window.tutkaRoom.firstRenderMs"))


def rows(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#alerts tbody tr[data-alert-id]")


def row_values(driver: WebDriver, attribute: str) -> list[str]:
    """One attribute of every alert row, read in one script call (no re-render in between)."""
    values = driver.execute_script(
        "return Array.from(document.querySelectorAll('#alerts tbody tr[data-alert-id]'))"
        ".map(r => r.getAttribute(arguments[0]))",
        attribute,
    )
    return [str(v) for v in values]


def row_ids(driver: WebDriver) -> list[str]:
    return row_values(driver, "data-alert-id")


def shown_after(driver: WebDriver, expected: list[str]) -> list[str]:
    """The rows once they match (the page re-fetches after a filter change)."""
    with contextlib.suppress(TimeoutException):  # the caller's assertion shows the difference
        wait_for(driver, lambda d: row_ids(d) == expected, timeout=15)
    return row_ids(driver)


def api_ids(room: Room, who: str, **view: str) -> list[str]:
    return [a["id"] for a in room.api(who, "/api/picture", **view)["alerts"]]


def choose(driver: WebDriver, element_id: str, value: str) -> None:
    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def lapland_alert(room: Room) -> dict[str, Any]:
    """An alert under Lapland's ELY area with a drawn series (the demo injects a mill closure)."""
    alerts = room.api("Demo admin", "/api/picture", area="ELY15", status="all")["alerts"]
    for alert in alerts:
        detail = room.api("Demo admin", f"/api/alerts/{alert['id']}")
        if detail["chart"]["source"] == "series":
            return detail
    raise AssertionError(f"no Lapland alert with a series among {len(alerts)}")


def test_the_room_shows_what_the_api_says_and_filters_it(room: Room, browser: WebDriver) -> None:
    started = time.perf_counter()
    first_render = sign_in(browser, room, "Demo admin")
    wall = (time.perf_counter() - started) * 1000
    print(f"\npage load: first render {first_render:.0f} ms after navigation; {wall:.0f} ms wall")
    picture = room.api("Demo admin", "/api/picture")
    assert row_ids(browser) == [a["id"] for a in picture["alerts"]]
    assert browser.find_element(By.ID, "count-negative").text == str(picture["counts"]["negative"])
    assert browser.find_element(By.ID, "count-positive").text == str(picture["counts"]["positive"])
    screenshot(browser, "01-open-alerts")

    choose(browser, "f-status", "all")
    everything = api_ids(room, "Demo admin", status="all")
    assert len(everything) > len(picture["alerts"])
    assert shown_after(browser, everything) == everything
    choose(browser, "f-area", "ELY15")
    lapland = api_ids(room, "Demo admin", status="all", area="ELY15")
    assert lapland and shown_after(browser, lapland) == lapland
    assert all("ELY15" in area_and_parents(room, i) for i in row_ids(browser))
    choose(browser, "f-polarity", "negative")
    negative = api_ids(room, "Demo admin", status="all", area="ELY15", polarity="negative")
    assert shown_after(browser, negative) == negative
    assert set(row_values(browser, "data-polarity")) <= {"negative"}
    screenshot(browser, "02-filtered-lapland-negative")
    # A bad sector code is refused with the reason, and the page keeps working.
    field = browser.find_element(By.ID, "f-sector")
    field.send_keys("ZZ", Keys.ENTER)
    wait_for(browser, lambda d: d.find_element(By.ID, "filter-error").text.strip() != "")
    field.clear()
    field.send_keys(Keys.ENTER)
    assert shown_after(browser, negative) == negative


def acknowledged(driver: WebDriver) -> str | None:
    return driver.find_element(By.ID, "case-state").get_attribute("data-acknowledged")


def area_and_parents(room: Room, alert_id: str) -> tuple[str, ...]:
    alert = room.api("Demo admin", f"/api/alerts/{alert_id}")["alert"]
    return (alert["area"], *alert["parents"])


def test_an_alert_opens_with_its_chart_and_acknowledgement_reaches_a_second_session(
    room: Room, browser: WebDriver, second_browser: WebDriver
) -> None:
    detail = lapland_alert(room)
    alert_id = detail["alert"]["id"]
    sign_in(browser, room, "Demo analyst (Lappi)")
    choose(browser, "f-status", "all")
    wait_for(browser, lambda d: alert_id in row_ids(d))
    row = browser.find_element(By.CSS_SELECTOR, f'#alerts tr[data-alert-id="{alert_id}"]')
    row.find_element(By.CSS_SELECTOR, "button.open-alert").click()
    panel = wait_for(browser, lambda d: d.find_element(By.ID, "detail"))
    wait_for(
        browser, lambda d: panel.get_attribute("data-alert-id") == alert_id and panel.is_displayed()
    )
    chart = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#detail-chart svg"))
    assert chart.find_elements(By.CSS_SELECTOR, "path.series-line")
    assert chart.find_elements(By.CSS_SELECTOR, "rect.trigger-band")
    assert chart.find_elements(By.CSS_SELECTOR, "line.opened-marker")
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.signal-point")) >= 1
    explanation = browser.find_element(By.ID, "detail-explanation").text
    assert detail["alert"]["explanation"]["fi"] in explanation
    notices = browser.find_elements(By.CSS_SELECTOR, "#detail-notices tbody tr")
    assert len(notices) == len(detail["alert"]["notices"])
    assert browser.current_url.split("?")[0].endswith(f"/alerts/{alert_id}")
    screenshot(browser, "03-alert-detail")

    # A second session (another member of staff) has the same alert open.
    sign_in(second_browser, room, "Demo analyst", f"/alerts/{alert_id}")
    state = wait_for(second_browser, lambda d: d.find_element(By.ID, "case-state"))
    wait_for(
        second_browser,
        lambda d: d.find_element(By.ID, "detail").get_attribute("data-alert-id") == alert_id,
    )
    assert state.get_attribute("data-acknowledged") == "false"

    browser.find_element(By.ID, "case-ack").click()
    clicked = time.perf_counter()
    wait_for(second_browser, lambda d: acknowledged(d) == "true", timeout=15)
    seen_after = (time.perf_counter() - clicked) * 1000
    print(f"\nacknowledgement in the second session after {seen_after:.0f} ms (no reload)")
    assert "Demo analyst (Lappi)" in second_browser.find_element(By.ID, "case-acknowledged-by").text
    screenshot(second_browser, "04-second-session-acknowledged")

    # Both sessions work the case; the log shows every step, in both.
    browser.find_element(By.ID, "case-note").send_keys("Tehtaan sulkeminen vahvistettu.")
    browser.find_element(By.ID, "case-add-note").click()
    choose(second_browser, "case-assessment", "new_trend")
    second_browser.find_element(By.ID, "case-mark").click()
    for driver in (browser, second_browser):
        wait_for(
            driver,
            lambda d: (
                d.find_element(By.ID, "case-state").get_attribute("data-assessment") == "new_trend"
            ),
        )
        wait_for(
            driver,
            lambda d: "Tehtaan sulkeminen vahvistettu." in d.find_element(By.ID, "case-log").text,
        )
    case = room.api("Demo admin", f"/api/alerts/{alert_id}/case")
    assert [e["action"]["type"] for e in case["log"]] == ["acknowledged", "note", "marked"]


def test_the_room_speaks_three_languages_and_works_with_the_keyboard(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room, "Demo admin")
    first = wait_for(browser, lambda d: row_ids(d)[0])
    alert = room.api("Demo admin", f"/api/alerts/{first}")["alert"]
    browser.find_element(By.ID, "lang-sv").click()
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv")
    # The table is drawn again in Swedish: find the row anew.
    row = f'#alerts tr[data-alert-id="{alert["id"]}"] button.open-alert'
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, row).text.strip() != "")
    browser.find_element(By.CSS_SELECTOR, row).send_keys(Keys.ENTER)  # a real button
    wait_for(browser, lambda d: d.find_element(By.ID, "detail").is_displayed())
    wait_for(
        browser,
        lambda d: alert["explanation"]["sv"] in d.find_element(By.ID, "detail-explanation").text,
    )
    screenshot(browser, "05-svenska-detail")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(browser, lambda d: not d.find_element(By.ID, "detail").is_displayed())
    browser.find_element(By.ID, "lang-en").click()
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    screenshot(browser, "06-english")


def test_ely_staff_see_only_their_area_and_manage_their_subscriptions(
    room: Room, browser: WebDriver
) -> None:
    sign_in(browser, room, "Demo analyst (Lappi)")
    choose(browser, "f-status", "all")
    mine = api_ids(room, "Demo analyst (Lappi)", status="all")
    assert shown_after(browser, mine) == mine
    everyone = api_ids(room, "Demo admin", status="all")
    assert set(mine) < set(everyone)
    areas = [
        o.get_attribute("value") for o in Select(browser.find_element(By.ID, "f-area")).options
    ]
    assert "ELY01" not in areas and "MK19" in areas

    def save(sub_id: str, areas: str) -> None:
        for field, value in (("sub-id", sub_id), ("sub-areas", areas), ("sub-sectors", "C")):
            element = browser.find_element(By.ID, field)
            element.clear()
            element.send_keys(value)
        browser.find_element(By.ID, "sub-save").click()

    save("lappi-teollisuus", "MK19")
    wait_for(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#subs-list li[data-subscription-id="lappi-teollisuus"]'
        ),
    )
    save("lappi-uusimaa", "MK01")  # outside Lapland: refused with the reason
    wait_for(browser, lambda d: "MK01" in d.find_element(By.ID, "sub-error").text)
    screenshot(browser, "07-subscriptions")
    subscriptions = room.api("Demo analyst (Lappi)", "/api/subscriptions")
    assert [(s["id"], s["owner"], s["filters"]["areas"]) for s in subscriptions] == [
        ("lappi-teollisuus", "ELY15", ["MK19"])
    ]
    item = browser.find_element(
        By.CSS_SELECTOR, '#subs-list li[data-subscription-id="lappi-teollisuus"]'
    )
    item.find_element(By.CSS_SELECTOR, "button.sub-remove").click()
    browser.switch_to.alert.accept()
    wait_for(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#subs-list li[data-subscription-id]"),
    )
    assert room.api("Demo analyst (Lappi)", "/api/subscriptions") == []


def test_a_viewer_cannot_work_cases(room: Room, browser: WebDriver) -> None:
    sign_in(browser, room, "Demo viewer")
    # Retried if the table is re-drawn between finding the button and clicking it.
    wait_for(
        browser,
        lambda d: rows(d)[0].find_element(By.CSS_SELECTOR, "button.open-alert").click() or True,
    )
    wait_for(browser, lambda d: d.find_element(By.ID, "detail").is_displayed())
    ack = browser.find_elements(By.ID, "case-ack")
    assert not ack or not ack[0].is_displayed() or not ack[0].is_enabled()
    assert not browser.find_element(By.ID, "intake").is_displayed()  # no notice upload either


def test_staff_close_a_held_alert_and_the_engine_resolves_it(
    room: Room, browser: WebDriver
) -> None:
    alerts = room.api("Demo admin", "/api/picture", status="all")["alerts"]
    held = [
        d for a in alerts if (d := room.api("Demo admin", f"/api/alerts/{a['id']}"))["closable"]
    ]
    assert held, "the demo's market should leave an alert held open as the new normal"
    alert_id = held[0]["alert"]["id"]
    sign_in(browser, room, "Demo admin", f"/alerts/{alert_id}")
    wait_for(browser, lambda d: d.find_element(By.ID, "case-close-form").is_displayed())
    choose(browser, "case-close-reason", "new_normal_accepted")
    browser.find_element(By.ID, "case-close-note").send_keys("Uusi taso on pysyvä.")
    browser.find_element(By.ID, "case-close").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "case-closed-by").is_displayed())
    assert "Demo admin" in browser.find_element(By.ID, "case-closed-by").text
    wait_for(
        browser,
        lambda d: (
            room.api("Demo admin", f"/api/alerts/{alert_id}")["alert"]["resolution"]
            == "closed_by_staff"
        ),
        timeout=15,
    )
    wait_for(browser, lambda d: not d.find_element(By.ID, "case-close-form").is_displayed())
    screenshot(browser, "12-closed-by-staff")


def intake_reasons(driver: WebDriver) -> dict[int, str]:
    found = driver.execute_script(
        "return Array.from(document.querySelectorAll('#intake-table tbody tr'))"
        ".map(r => [Number(r.dataset.line), r.cells[2].textContent])"
    )
    return {int(line): str(text) for line, text in found}


def test_an_analyst_uploads_notices_and_sees_the_rejected_rows(
    room: Room, browser: WebDriver, tmp_path: Path
) -> None:
    """Last in the module: the two notices it sends stay in the demo's picture."""
    rows_ = [good_row(0, 240, seed=71), good_row(1, "KU091", seed=71), good_row(2, 240, seed=71),
             good_row(3, 240, seed=71)]  # fmt: skip
    for row in rows_:
        row[6] = 3  # small notices: nothing for the other tests' alerts to notice
    rows_[3][6] = "kolme"
    sheet = tmp_path / "lappi-ilmoitukset.csv"
    sheet.write_bytes(csv_bytes(rows_))
    sign_in(browser, room, "Demo analyst (Lappi)")
    intake = browser.find_element(By.ID, "intake")
    assert intake.is_displayed()
    browser.execute_script("arguments[0].scrollIntoView()", intake)
    browser.find_element(By.ID, "intake-file").send_keys(str(sheet))
    browser.find_element(By.ID, "intake-submit").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "intake-result").is_displayed())
    counts = [browser.find_element(By.ID, f"intake-{k}").text
              for k in ("rows", "accepted", "rejected", "blank")]  # fmt: skip
    assert counts == ["4", "2", "2", "0"]
    assert intake_reasons(browser) == {
        3: "kunta: KU091 ei kuulu alueeseesi (ELY15)",
        5: "henkilömäärä: ei ole kokonaisluku",
    }
    assert browser.find_element(By.ID, "intake-where").text == "notices.jsonl"
    browser.execute_script(
        "arguments[0].scrollIntoView()", browser.find_element(By.ID, "intake-form")
    )
    screenshot(browser, "20-notice-intake-fi")
    browser.find_element(By.ID, "lang-en").click()
    wait_for(browser, lambda d: intake_reasons(d).get(5) == "persons: is not a whole number")
    assert intake_reasons(browser)[3] == "municipality: KU091 is outside your area (ELY15)"
    browser.find_element(By.ID, "intake-download").click()
    csv_text = wait_for(
        browser, lambda d: d.execute_script("return window.tutkaRoom.lastRejectedCsv")
    )
    assert [line.split(",")[0] for line in csv_text.strip().splitlines()] == ["line", "3", "5"]
    # Sending the same file again (a lost answer, a double click) publishes nothing twice.
    browser.find_element(By.ID, "intake-submit").click()
    wait_for(
        browser,
        lambda d: d.execute_script(
            "return window.tutkaRoom.lastIntake && window.tutkaRoom.lastIntake.repeated"
        ),
    )
    screenshot(browser, "21-notice-intake-en")
    browser.find_element(By.ID, "lang-fi").click()
    stored = (room.data_dir / "notices.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(stored) == 2
