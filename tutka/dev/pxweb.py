"""A small PxWeb-compatible server (API v1) for developing and testing the fetcher offline.

It serves tables built from Statistics Finland's long CSVs (``month,area[,occupation],measure,
value``, as in ``../shared/data/fi``) the way ``pxdata.stat.fi`` serves them:

* ``GET  …/PxWeb/api/v1/<lang>/?config`` — the limits (``maxValues``, ``maxCalls``, ``timeWindow``);
* ``GET  …/PxWeb/api/v1/<lang>/<path>.px`` — the table's metadata (variables, value codes, texts);
* ``POST …/PxWeb/api/v1/<lang>/<path>.px`` — a query (``{"query": [...], "response": {"format":
  "json-stat2"}}``) answered as a JSON-stat 2.0 dataset; more cells than ``maxValues`` get 403,
  more calls than ``maxCalls`` in ``timeWindow`` seconds get 429 with ``Retry-After``.

And what a test needs the real service to do now and then: hide the newest months until
:meth:`PxWebServer.publish` releases the next one, :meth:`~PxWebServer.revise` a past figure,
answer 429 or stall past the client's timeout for the next requests, rename a variable or add an
area code. Every request is logged (:attr:`PxWebServer.log`).

``tutka dev pxweb`` runs it from the command line. Standard library only (``http.server``).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

API: Final = "/PxWeb/api/v1"
MEASURE_TEXTS: Final = {
    "TYOTTOMATLOPUSSA": "Työttömät työnhakijat laskentapäivänä (lkm.)",
    "TYOVOIMATK": "Työvoima (lkm.)",
    "AVPAIKATLOPUSSA": "Avoimet työpaikat laskentapäivänä (lkm.)",
}


@dataclass
class Variable:
    code: str
    text: str
    values: list[str]
    time: bool = False


@dataclass
class Table:
    """One table: its variables (the last is time) and values by cell (codes in that order)."""

    path: str
    title: str
    variables: list[Variable]
    values: dict[tuple[str, ...], float | None]
    #: Months visible now: the first ``visible`` of the time variable's values.
    visible: int = 0
    updated: str = "2023-11-21T06:00:00Z"

    def __post_init__(self) -> None:
        if not self.visible:
            self.visible = len(self.variables[-1].values)

    @property
    def months(self) -> list[str]:
        return self.variables[-1].values[: self.visible]

    def metadata(self) -> dict[str, Any]:
        shown = [
            Variable(v.code, v.text, self.months if v.time else v.values, v.time)
            for v in self.variables
        ]
        return {
            "title": self.title,
            "variables": [
                {"code": v.code, "text": v.text, "values": v.values,
                 "valueTexts": [MEASURE_TEXTS.get(x, x) for x in v.values],
                 **({"time": True} if v.time else {})}
                for v in shown
            ],
        }  # fmt: skip


def load_table(
    csv_path: Path,
    path: str,
    title: str,
    *,
    occupation: str | None = None,
    since: str | None = None,
    areas: Iterable[str] | None = None,
) -> Table:
    """A table from a long CSV (gzip or not); ``since`` (YYYY-MM) and ``areas`` keep it small."""
    opener = gzip.open if csv_path.name.endswith(".gz") else open
    wanted = set(areas) if areas is not None else None
    values: dict[tuple[str, ...], float | None] = {}
    seen: dict[str, dict[str, None]] = {"area": {}, "occupation": {}, "measure": {}, "month": {}}
    with opener(csv_path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            month = row["month"]
            if since is not None and month < since:
                continue
            if wanted is not None and row["area"] not in wanted:
                continue
            code = f"{month[:4]}M{month[5:7]}"
            parts = [row["area"]]
            if occupation is not None:
                parts.append(row["occupation"])
            parts += [row["measure"], code]
            text = row["value"].strip()
            values[tuple(parts)] = float(text) if text not in ("", ".", "..", "-") else None
            seen["area"][row["area"]] = None
            if occupation is not None:
                seen["occupation"][row["occupation"]] = None
            seen["measure"][row["measure"]] = None
            seen["month"][code] = None
    variables = [Variable("Alue", "Alue", list(seen["area"]))]
    if occupation is not None:
        variables.append(Variable(occupation, occupation, list(seen["occupation"])))
    variables += [
        Variable("Tiedot", "Tiedot", list(seen["measure"])),
        Variable("Kuukausi", "Kuukausi", sorted(seen["month"]), time=True),
    ]
    return Table(path=path, title=title, variables=variables, values=values)


@dataclass
class Faults:
    """Misbehaviour for the next requests (of a method, or any): answers with ``status`` and
    ``Retry-After``, or a stall of ``delay`` seconds."""

    status: deque[tuple[int, float, str | None]] = field(default_factory=deque)
    delays: deque[tuple[float, str | None]] = field(default_factory=deque)

    def take_status(self, method: str) -> tuple[int, float] | None:
        if self.status and self.status[0][2] in (None, method):
            status, retry_after, _ = self.status.popleft()
            return status, retry_after
        return None

    def take_delay(self, method: str) -> float:
        if self.delays and self.delays[0][1] in (None, method):
            return self.delays.popleft()[0]
        return 0.0


class PxWebServer:
    """The server on ``host:port`` (0: a free port), in a background thread."""

    def __init__(
        self,
        tables: dict[str, Table],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_values: int = 100_000,
        max_calls: int = 30,
        time_window: float = 10.0,
    ) -> None:
        self.tables = {table.path: table for table in tables.values()}
        self.by_id = dict(tables)
        self.max_values, self.max_calls, self.time_window = max_values, max_calls, time_window
        self.faults = Faults()
        self.log: list[tuple[str, str, int, int]] = []  # method, path, status, cells
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer((host, port), self._handler())
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """The API root, language included: what ``TUTKA_FETCH__BASE_URL`` takes."""
        return f"http://127.0.0.1:{self.port}{API}/fi"

    def start(self) -> PxWebServer:
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> PxWebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests make the service do --------------------------------------------------------

    def hide_after(self, table: str, month: str) -> None:
        """Only months up to ``month`` (YYYY-MM) are published."""
        t = self.by_id[table]
        code = f"{month[:4]}M{month[5:7]}"
        t.visible = t.variables[-1].values.index(code) + 1

    def publish(self, table: str, months: int = 1) -> str:
        """Release the next month(s); returns the newest month now visible (YYYYMmm)."""
        t = self.by_id[table]
        t.visible = min(len(t.variables[-1].values), t.visible + months)
        t.updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return t.months[-1]

    def revise(self, table: str, cell: dict[str, str], value: float) -> float | None:
        """Change one figure (variable code → value code; month as YYYY-MM); returns the old."""
        t = self.by_id[table]
        key = tuple(
            f"{cell[v.code][:4]}M{cell[v.code][5:7]}" if v.time else cell[v.code]
            for v in t.variables
        )
        old = t.values.get(key)
        t.values[key] = value
        t.updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return old

    def fail_next(
        self, count: int, status: int = 429, retry_after: float = 1.0, method: str | None = None
    ) -> None:
        """Answer the next ``count`` requests (of ``method``, or any) with ``status``."""
        for _ in range(count):
            self.faults.status.append((status, retry_after, method))

    def stall_next(self, count: int, seconds: float, method: str | None = None) -> None:
        """Hold the next ``count`` requests (of ``method``, or any) for ``seconds``."""
        for _ in range(count):
            self.faults.delays.append((seconds, method))

    def rename_variable(self, table: str, old: str, new: str) -> None:
        for variable in self.by_id[table].variables:
            if variable.code == old:
                variable.code = variable.text = new

    def add_area(self, table: str, code: str) -> None:
        self.by_id[table].variables[0].values.append(code)

    def requests(self, method: str | None = None) -> int:
        return sum(1 for m, *_ in self.log if method is None or m == method)

    # -- HTTP ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read server.log

            def do_GET(self) -> None:
                server._serve(self, "GET", None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                server._serve(self, "POST", self.rfile.read(length))

        return Handler

    def _serve(self, request: BaseHTTPRequestHandler, method: str, body: bytes | None) -> None:
        path = request.path
        with self._lock:
            delay = self.faults.take_delay(method)
            fault = self.faults.take_status(method)
            now = time.monotonic()
            while self._calls and now - self._calls[0] > self.time_window:
                self._calls.popleft()
            over = len(self._calls) >= self.max_calls
            self._calls.append(now)
        if delay:
            time.sleep(delay)
        if fault is not None or over:
            status, retry_after = fault if fault is not None else (429, self.time_window)
            self._send(request, method, status, {"error": "Too Many Requests"},
                       {"Retry-After": f"{retry_after:g}"})  # fmt: skip
            return
        if path.rstrip("/").endswith("?config") or path.endswith("/?config"):
            self._send(request, method, 200, {
                "apiVersion": "1.1.0", "languages": ["fi", "sv", "en"], "defaultLanguage": "fi",
                "maxValues": self.max_values, "maxCalls": self.max_calls,
                "timeWindow": int(self.time_window), "CORS": True,
            })  # fmt: skip
            return
        table = self._table(path)
        if table is None:
            self._send(request, method, 404, {"error": f"no table at {path}"})
            return
        if method == "GET":
            self._send(request, method, 200, table.metadata())
            return
        try:
            query = json.loads(body or b"{}")
            selection = {q["code"]: list(q["selection"]["values"]) for q in query["query"]}
        except (ValueError, KeyError, TypeError):
            self._send(request, method, 400, {"error": "malformed query"})
            return
        answer, cells = self._answer(table, selection)
        if answer is None:
            self._send(request, method, 400, {"error": "unknown variable or value"}, cells=cells)
        elif cells > self.max_values:
            self._send(request, method, 403, {"error": "too many values"}, cells=cells)
        else:
            self._send(request, method, 200, answer, cells=cells)

    def _table(self, path: str) -> Table | None:
        if not path.startswith(API + "/"):
            return None
        rest = path[len(API) + 1 :].split("?")[0]
        _, _, table_path = rest.partition("/")
        return self.tables.get(table_path)

    def _answer(
        self, table: Table, selection: dict[str, list[str]]
    ) -> tuple[dict[str, Any] | None, int]:
        chosen: list[list[str]] = []
        for variable in table.variables:
            allowed = table.months if variable.time else variable.values
            wanted = selection.get(variable.code)
            if wanted is None:
                return None, 0
            if any(code not in allowed for code in wanted):
                return None, 0
            chosen.append([code for code in allowed if code in set(wanted)])
        cells = 1
        for codes in chosen:
            cells *= len(codes)
        if cells > self.max_values:
            return {}, cells
        values: list[float | None] = []
        status: dict[str, str] = {}
        for position, key in enumerate(itertools.product(*chosen)):
            value = table.values.get(key)
            values.append(value)
            if value is None:
                status[str(position)] = ".."
        dataset = {
            "version": "2.0",
            "class": "dataset",
            "label": table.title,
            "source": "Tilastokeskus (test server)",
            "updated": table.updated,
            "id": [v.code for v in table.variables],
            "size": [len(c) for c in chosen],
            "dimension": {
                v.code: {"label": v.text, "category": {
                    "index": {code: i for i, code in enumerate(codes)},
                    "label": {code: MEASURE_TEXTS.get(code, code) for code in codes}}}
                for v, codes in zip(table.variables, chosen, strict=True)
            },
            "value": values,
            **({"status": status} if status else {}),
        }  # fmt: skip
        return dataset, cells

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        cells: int = 0,
    ) -> None:
        self.log.append((method, request.path, status, cells))
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json; charset=utf-8")
            request.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a stalled answer past its timeout)


def shared_tables(
    data: Path, *, municipalities: bool = False, ti_since: str | None = "2022-01"
) -> dict[str, Table]:
    """12r5 (regions, or the municipal development set) and 12ti from ``../shared/data/fi``."""
    r5 = "tyonv_12r5_municipalities_dev.csv" if municipalities else "tyonv_12r5_regions.csv"
    return {
        "12r5": load_table(data / r5, "StatFin/tyonv/12r5.px",
                           "Työnhakijat ja avoimet työpaikat alueittain kuukausittain"),
        "12ti": load_table(data / "tyonv_12ti_region_occupation.csv.gz", "StatFin/tyonv/12ti.px",
                           "Työnhakijat ja avoimet työpaikat ammattiryhmittäin",
                           occupation="Ammattiryhmä", since=ti_since),
    }  # fmt: skip
