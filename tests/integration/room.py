"""Helpers for the situation-room tests: ``tutka room`` as a real process, and headless Chromium.

The browser is Debian's ``chromium`` driven through Debian's ``chromium-driver`` with Selenium
(``scripts/setup-system.sh`` installs both; ``make test`` runs it). A missing browser fails the
test with the reason; it never skips.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots land here (CI keeps the directory as the tests' artifacts).
ARTIFACTS = Path(os.environ.get("TUTKA_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "room"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Room:
    """``tutka room …`` on a free port, with the throwaway tokens it prints."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.data_dir = Path(env.get("TUTKA_ROOM__DATA_DIR", ROOT / ".tutka" / "room"))
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        command = [sys.executable, "-m", "tutka", "room", *args, "--port", str(self.port),
                   "--ephemeral-tokens"]  # fmt: skip
        self.process = subprocess.Popen(
            command, env={**os.environ, **env, "COLUMNS": "250"}, stdout=self._out,
            stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        self.tokens = self._tokens()

    def _tokens(self, timeout: float = 60) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            found = dict(re.findall(r"^\s+(Demo [^\n]*?)\s+http://\S+#token=(\S+)$", text, re.M))
            if len(found) == 4:
                return {name.strip(): token for name, token in found.items()}
            if self.process.poll() is not None:
                raise AssertionError(f"tutka room exited:\n{text}")
            time.sleep(0.1)
        raise AssertionError(f"tutka room printed no tokens:\n{self.text()}")

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def api(self, who: str, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.base}{path}", params=params, headers=self.auth(who), timeout=10
        )
        response.raise_for_status()
        return response.json()

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def wait_ready(self, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status: dict[str, Any] = self.api("Demo admin", "/api/status")
            except httpx.HTTPError:
                status = {}
            if status.get("error"):
                raise AssertionError(f"the room failed: {status['error']}")
            if status.get("ready"):
                return status
            if self.process.poll() is not None:
                raise AssertionError(f"tutka room exited:\n{self.text()}")
            time.sleep(0.5)
        raise AssertionError(f"the room was not ready in {timeout} s:\n{self.text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()


def chromium() -> WebDriver:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    if browser is None or not Path(driver).exists():
        raise AssertionError(
            "headless Chromium is needed: apt-get install chromium chromium-driver "
            "(scripts/setup-system.sh installs them; make test runs it)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1440,1000", "--lang=fi-FI", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=DriverService(driver), options=options)


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 30) -> Any:
    # The room re-renders its tables on every poll, so an element found a moment
    # ago may be gone when the condition reads it: that poll counts as "not yet".
    return WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition)


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path
