"""``tutka bench detectors``: the figure-series detectors side by side on the same series.

One run, the same values for every row: the demo's figure series (the synthetic market of
``tutka demo``; ``--copies`` widens it by copies at other scales), fed

* to the per-observation **reference** detectors (CUSUM, the seasonal baseline, BOCPD), a
  detector per series, one ``learn`` per observation;
* to the columnar **banks** (:mod:`tutka.detectors.bank`), a release at a time, with float64
  and with float32 state;
* to river's ``drift.PageHinkley`` and ``drift.ADWIN`` (river is an optional dependency: the
  ``bench`` extra; without it the table says so and leaves those rows out).

``relative_shift`` takes a pair per observation, the area's count and the country's: its rows
run over the demo's sub-national series (1 040 of the 1 050) paired with the country's series
of the same measure (``--copies`` scales the areas' counts, not the country's).

For each: observations per second (the best of ``--repeat`` runs), the alarms raised and the
memory the detectors hold per series once the run is over (measured with ``tracemalloc``, in a
run of its own over the first 1 050 series; for a bank also the bytes its columns hold per
series). Speed figures only,
never test assertions: on a shared machine they move by tens of per cent from run to run.
"""

from __future__ import annotations

import gc
import importlib.util
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tutka.cli.context import load_context
from tutka.config.catalogue import Catalogue
from tutka.detectors.bank.registry import BANKS, create
from tutka.detectors.base import DetectorParams
from tutka.detectors.relative_shift import RelativePoint
from tutka.models.codes import period_index
from tutka.models.events import LayoffNoticeFiled
from tutka.synthetic import generate

console = Console(highlight=False, width=110)

#: Months x series, or months x series x (count, reference) for a share detector.
Matrix = npt.NDArray[np.float64]
#: A run: builds its detectors, feeds them the matrix, returns (what it holds, alarms).
Run = Callable[[Matrix], tuple[object, int]]
#: The detectors that take a (count, reference) pair: they run on the sub-national series.
SHARE_DETECTORS = frozenset({"relative_shift"})

RIVER_ABSENT = (
    "river is not installed, so its rows are left out: "
    "pip install 'muutostutka[bench]' (or river) to compare with river's drift detectors."
)


@dataclass(frozen=True)
class DetectorFigures:
    """One row of the table."""

    name: str
    observations: int
    seconds: float
    cpu_seconds: float
    alarms: int
    held_bytes: float
    column_bytes: int | None = None

    @property
    def rate(self) -> float:
        """Observations per second."""
        return self.observations / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        """Observations per CPU second (less moved by other processes than the wall clock)."""
        return self.observations / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


Key = tuple[object, ...]


def _demo_series(seed: int, start: str, end: str) -> tuple[dict[Key, list[float]], int]:
    """The demo's figure series that have a value every month, in months' order; and how many
    series the demo has."""
    series: dict[Key, dict[int, float]] = defaultdict(dict)
    for e in generate(seed=seed, start=start, end=end).events:
        if not isinstance(e, LayoffNoticeFiled):
            series[(e.area, e.measure, e.sector, e.occupation)][period_index(e.period)] = e.value
    periods = sorted({p for values in series.values() for p in values})
    full = {
        key: [values[p] for p in periods]
        for key, values in series.items()
        if len(values) == len(periods)
    }
    return full, len(series)


def demo_matrix(
    seed: int, copies: int, start: str = "2012-01", end: str = "2024-12"
) -> tuple[Matrix, int]:
    """The demo's figure series as a (months x series) matrix, widened by ``copies``.

    Copy ``k`` (from 0) is the demo's series times ``1 + k / copies``: other scales, the same
    shapes. Returns the matrix and the demo's own series count.
    """
    full, count = _demo_series(seed, start, end)
    base = np.array(list(full.values()), dtype=np.float64).T
    widened = np.hstack([np.round(base * (1 + k / copies)) for k in range(copies)])
    return widened, count


def demo_pairs(seed: int, copies: int, start: str = "2012-01", end: str = "2024-12") -> Matrix:
    """The demo's sub-national series with the country's (``SSS``) of the same measure: a
    (months x series x 2) array of (count, reference), widened as :func:`demo_matrix` (the
    copies scale the areas' counts; the country's stays)."""
    full, _ = _demo_series(seed, start, end)
    keys = [k for k in full if k[0] != "SSS" and ("SSS", *k[1:]) in full]
    counts = np.array([full[k] for k in keys], dtype=np.float64).T
    country = np.array([full[("SSS", *k[1:])] for k in keys], dtype=np.float64).T
    widened = np.hstack([np.round(counts * (1 + k / copies)) for k in range(copies)])
    return np.stack([widened, np.tile(country, (1, copies))], axis=2)


def _reference(name: str, params: DetectorParams) -> Run:
    cls = BANKS[name].reference

    def run(matrix: Matrix) -> tuple[object, int]:
        detectors = [cls(params) for _ in range(matrix.shape[1])]  # type: ignore[arg-type]
        alarms = 0
        if matrix.ndim == 3:  # (count, reference) pairs
            for pairs, det in zip(matrix.transpose(1, 0, 2).tolist(), detectors, strict=True):
                for value, ref in pairs:
                    alarms += det.learn(RelativePoint(value, ref))[1]  # type: ignore[arg-type]
            return detectors, alarms
        for column, det in zip(matrix.T.tolist(), detectors, strict=True):
            for x in column:
                alarms += det.learn(x)[1]
        return detectors, alarms

    return run


def _bank(name: str, params: DetectorParams, dtype: type[np.floating[Any]]) -> Run:
    def run(matrix: Matrix) -> tuple[object, int]:
        bank = create(name, params, dtype)
        bank.grow(matrix.shape[1])
        rows = np.arange(matrix.shape[1])
        alarms = 0
        for values in matrix:
            alarms += int(bank.learn(rows, values).alarm.sum())
        return bank, alarms

    return run


def _river(which: str) -> Run:
    from river import drift

    # river is untyped (no py.typed): its detectors are Any here.
    make: Callable[[], Any] = {"PageHinkley": drift.PageHinkley, "ADWIN": drift.ADWIN}[which]

    def run(matrix: Matrix) -> tuple[object, int]:
        detectors = [make() for _ in range(matrix.shape[1])]
        alarms = 0
        for column, det in zip(matrix.T.tolist(), detectors, strict=True):
            for x in column:
                det.update(x)
                alarms += det.drift_detected
        return detectors, alarms

    return run


#: The memory held is measured on at most this many series (tracing every allocation is slow).
TRACED_SERIES = 1_050


def measure(name: str, run: Run, matrix: Matrix, repeat: int) -> DetectorFigures:
    """The best of ``repeat`` timed runs, then one traced run (of fewer series) for the memory."""
    best = best_cpu = float("inf")
    alarms = 0
    for _ in range(repeat):
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        held, alarms = run(matrix)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        del held
    gc.collect()
    tracemalloc.start()
    traced = np.ascontiguousarray(matrix[:, :TRACED_SERIES])
    before = tracemalloc.get_traced_memory()[0]
    held, _ = run(traced)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    columns = getattr(held, "bytes_per_row", None)
    series = traced.shape[1]
    return DetectorFigures(
        name,
        matrix.shape[0] * matrix.shape[1],
        best,
        best_cpu,
        alarms,
        (after - before) / series,
        columns() if callable(columns) else None,
    )


def runs(catalogue: Catalogue, detectors: tuple[str, ...] = ()) -> list[tuple[str, Run, bool]]:
    """Every row: reference and banks per banked detector (those of ``detectors`` when given),
    then river's when installed (and no detectors are named); and whether the row takes
    (count, reference) pairs."""
    out: list[tuple[str, Run, bool]] = []
    for name in sorted(BANKS):
        if detectors and name not in detectors:
            continue
        params = BANKS[name].params.model_validate(catalogue.detector_params("unemployment", name))
        pairs = name in SHARE_DETECTORS
        out.append((f"{name} reference", _reference(name, params), pairs))
        out.append((f"{name} bank f64", _bank(name, params, np.float64), pairs))
        out.append((f"{name} bank f32", _bank(name, params, np.float32), pairs))
    if river_installed() and not detectors:
        out.append(("river PageHinkley", _river("PageHinkley"), False))
        out.append(("river ADWIN", _river("ADWIN"), False))
    return out


def river_installed() -> bool:
    """Whether river (the ``bench`` extra) can be imported."""
    return importlib.util.find_spec("river") is not None


@click.command("detectors")
@click.option("--seed", default=7, show_default=True, help="The demo market's seed.")
@click.option("--copies", default=1, show_default=True,
              help="Widen the series by copies at other scales (10 ≈ 10 000 series).")  # fmt: skip
@click.option("--repeat", default=2, show_default=True, help="Timed runs per row (best kept).")
@click.option(
    "--start", default="2012-01", show_default=True, help="The demo market's first month."
)
@click.option("--end", default="2024-12", show_default=True, help="The demo market's last month.")
@click.option(
    "--detector",
    "detectors",
    multiple=True,
    type=click.Choice(sorted(BANKS)),
    help="Only this banked detector's rows (repeatable; river's are then left out).",
)
@click.pass_context
def bench_detectors(
    ctx: click.Context,
    seed: int,
    copies: int,
    repeat: int,
    start: str,
    end: str,
    detectors: tuple[str, ...],
) -> None:
    """Observations/s and state per series: reference detectors, banks and river, side by side.

    The demo's figure series by default: 1 050 series x 156 months = 163 800 observations
    (relative_shift: the 1 040 sub-national ones, 162 240).
    """
    if copies < 1 or repeat < 1:
        raise click.BadParameter("--copies and --repeat must be at least 1")
    context = load_context(ctx)
    matrix, demo = demo_matrix(seed, copies, start, end)
    pairs = demo_pairs(seed, copies, start, end)
    months, series = matrix.shape
    copied = f" x {copies} copies = {series:,} series" if copies > 1 else ""
    console.print(
        f"The demo's figure series (seed {seed}): {demo:,} series{copied} x {months} months "
        f"= {matrix.size:,} observations; relative_shift: the {pairs.shape[1]:,} sub-national "
        f"ones with the country's = {pairs.shape[0] * pairs.shape[1]:,}."
    )
    if not river_installed() and not detectors:
        console.print(escape(RIVER_ABSENT), style="yellow")
    rows = []
    for name, run, takes_pairs in runs(context.catalogue, detectors):
        rows.append(measure(name, run, pairs if takes_pairs else matrix, repeat))
        console.print(f"  {name}: {rows[-1].rate:,.0f} obs/s")
    table = Table(
        title=f"Figure-series detectors, {matrix.size:,} observations "
        f"(relative_shift {pairs.shape[0] * pairs.shape[1]:,}; one core)"
    )
    table.add_column("")
    for column in ("obs/s", "obs/CPU s", "alarms", "held B/series", "columns B/series"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.rate:,.0f}",
            f"{row.cpu_rate:,.0f}",
            f"{row.alarms:,}",
            f"{row.held_bytes:,.0f}",
            "–" if row.column_bytes is None else f"{row.column_bytes:,}",
        )
    console.print(table)
    console.print(
        f"[dim]Best of {repeat} runs each (wall clock and CPU). Reference: a detector per series, "
        "one learn per observation; bank: a release at a time (f64 / f32: its float state). "
        f"Held B: what the detectors hold after a run (tracemalloc; of {TRACED_SERIES:,} series at "
        "most) per series; columns B: a "
        "bank's state arrays per series. river's drift detectors watch the raw values with "
        "their own defaults: a comparison of speed and size, not of alarms.[/dim]"
    )
