"""Test PxWeb servers: a small synthetic 12r5 (no shared data) and the shared CSVs' tables.

``small_table()`` builds a 12r5-shaped table over the country, two regions and an ELY area
for 2022-01…2023-10 with deterministic values; ``shared_table("12r5")`` loads the shared
regional file once per session and hands out copies, so a test may revise and publish freely.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from tests.shared_data import SHARED_FI
from tutka.config.settings import FetchSettings
from tutka.dev.pxweb import PxWebServer, Table, Variable, load_table

AREAS = ("SSS", "ELY15", "MK19", "MK01")
MEASURES = ("TYOTTOMATLOPUSSA", "TYOVOIMATK", "AVPAIKATLOPUSSA")
MONTHS = tuple(f"{y}M{m:02d}" for y in (2022, 2023) for m in range(1, 13))[:22]
R5_PATH = "StatFin/tyonv/12r5.px"


def small_table(areas: tuple[str, ...] = AREAS, months: tuple[str, ...] = MONTHS) -> Table:
    values: dict[tuple[str, ...], float | None] = {}
    for a, area in enumerate(areas):
        for m, measure in enumerate(MEASURES):
            for t, month in enumerate(months):
                values[(area, measure, month)] = float(1000 * (a + 1) + 100 * m + t)
    values[("MK01", "AVPAIKATLOPUSSA", months[3])] = None  # a suppressed cell
    return Table(
        path=R5_PATH,
        title="test 12r5",
        variables=[
            Variable("Alue", "Alue", list(areas)),
            Variable("Tiedot", "Tiedot", list(MEASURES)),
            Variable("Kuukausi", "Kuukausi", list(months), time=True),
        ],
        values=values,
    )


@functools.cache
def _shared(name: str) -> Table:
    if name == "12r5":
        return load_table(SHARED_FI / "tyonv_12r5_regions.csv", R5_PATH, "12r5")
    return load_table(
        SHARED_FI / "tyonv_12ti_region_occupation.csv.gz",
        "StatFin/tyonv/12ti.px",
        "12ti",
        occupation="Ammattiryhmä",
        since="2023-01",
    )


def shared_table(name: str) -> Table:
    """A fresh copy of a shared table (loaded once per session)."""
    return copy.deepcopy(_shared(name))


def shared_12r5_csv() -> Path:
    return SHARED_FI / "tyonv_12r5_regions.csv"


def server(tables: dict[str, Table], **limits: float) -> PxWebServer:
    return PxWebServer(tables, **limits).start()  # type: ignore[arg-type]


def settings(url: str, **overrides: object) -> FetchSettings:
    """Fast settings for tests: short timeouts and backoff, the server's own limits."""
    values: dict[str, object] = {
        "base_url": url,
        "timeout_seconds": 2.0,
        "backoff_seconds": 0.05,
        "backoff_max_seconds": 2.0,
        "max_attempts": 3,
        "max_calls": 100,
        "time_window_seconds": 1.0,
    }
    values.update(overrides)
    return FetchSettings.model_validate(values)
