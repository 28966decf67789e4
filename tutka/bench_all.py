"""``tutka bench all``: issue 18's performance table, every row measured side by side in one run.

One market, the ``tutka bench replay`` one (by default 101 420 series x 120 months), and on it:

* **the replay** end to end (``tutka replay`` in a child process, so its peak memory is its own):
  observations per second (wall clock and CPU), peak memory, and the engine's state per series
  (the bytes of its checkpoint, :func:`tutka.streams.state.snapshot` as JSON, per series);
* **river's** ``drift.PageHinkley`` alone on the same series (the optional ``bench`` extra) and
  our per-observation **reference** detectors and columnar **banks** on them
  (:mod:`tutka.bench_detectors`), so the replay's rate reads against a bare detector's;
* with ``--occupation-file`` (the 12ti file), **that replay** in its own child process;
* unless ``--no-kafka``, **the Kafka path** (:func:`tutka.bench.run_kafka_bench`): a no-op faust
  agent and the tutka worker at full speed, and the latency at a steady rate after a
  full-speed warm-up: the worker's per release (last marker published → the release judged,
  its ``ReleaseJudged`` published), the no-op agent's per record.

Figures to report, never test assertions: on a shared machine they move by tens of per cent.
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from rich.console import Console
from rich.table import Table

from tutka.bench import _market, run_kafka_bench
from tutka.bench_detectors import Matrix, measure, runs
from tutka.bench_latency import Latency
from tutka.cli.context import Context, load_context
from tutka.models.areas import COUNTRY

console = Console(highlight=False, width=110)

#: The detector rows taken from ``tutka bench detectors`` (the bank of every banked detector
#: would take as long again; these are the ones the issue's table names).
DETECTOR_ROWS = (
    "relative_shift reference",
    "relative_shift bank f64",
    "cusum reference",
    "cusum bank f64",
    "seasonal_baseline reference",
    "river PageHinkley",
)
#: The paced part of the Kafka run: its last events, 192 releases (``tutka bench kafka``).
KAFKA_LATENCY_EVENTS = 120_000
FIGURE_FILES = ("unemployment.jsonl", "vacancies.jsonl")
#: The fields a figure series needs, typed (a block of nulls would otherwise be typed null).
_PARSE = pa_json.ParseOptions(
    explicit_schema=pa.schema(
        [(name, pa.string()) for name in ("area", "measure", "sector", "occupation", "period")]
        + [("value", pa.float64()), ("revision", pa.int64())]
    ),
    unexpected_field_behavior="ignore",
)


@dataclass(frozen=True)
class ReplayRow:
    """A replay measured in a child process of its own."""

    observations: int
    series: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    alerts: int
    state_bytes: int

    @property
    def cpu_rate(self) -> float:
        return self.observations / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    @property
    def rate(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else 0.0

    @property
    def state_per_series(self) -> float:
        return self.state_bytes / self.series if self.series else 0.0


def _replay_child(
    paths: list[Path], areas: Path | None, catalogue: Path | None, queue: Any
) -> None:
    """Run in a spawned process: the replay, then the size of the engine's checkpoint."""
    from tutka.replay import replay
    from tutka.streams.state import snapshot

    context = Context(areas, catalogue)
    cpu = time.process_time()
    result = replay(paths, context.hierarchy, context.catalogue)
    cpu = time.process_time() - cpu
    state = len(json.dumps(snapshot(result.engine), separators=(",", ":")).encode())
    queue.put(
        asdict(
            ReplayRow(
                observations=result.observations,
                series=len(result.engine.series),
                seconds=result.seconds,
                cpu_seconds=cpu,
                peak_rss_mb=result.peak_rss_mb,
                alerts=len(result.latest()),
                state_bytes=state,
            )
        )
    )


def replay_in_child(paths: list[Path], areas: Path | None, catalogue: Path | None) -> ReplayRow:
    """:func:`tutka.replay.replay` over ``paths`` in a spawned process: its own peak memory."""
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=_replay_child, args=(paths, areas, catalogue, queue))
    child.start()
    row = queue.get()  # before join: a large result would otherwise block the child's exit
    child.join()
    if child.exitcode != 0:
        raise click.ClickException(f"the replay of {paths} failed (exit code {child.exitcode})")
    return ReplayRow(**row)


def _figure_batches(market: Path) -> Iterator[pa.RecordBatch]:
    for name in FIGURE_FILES:
        path = market / name
        if path.exists():
            yield from pa_json.open_json(path, parse_options=_PARSE)


def market_matrix(market: Path) -> Matrix:
    """The market's first publications as a (months x series) matrix: complete series only."""
    return market_series(market)[0]


def market_series(market: Path) -> tuple[Matrix, list[str]]:
    """:func:`market_matrix` and each column's key (``area|measure|sector|occupation``).

    A detector row then sees every series the replay sees (the market has no gaps), each
    observation once, as first published (revisions are the replay's business). Built from
    arrow columns (no Python object per value), so the parent of the replays stays small.
    """
    parts = []
    for batch in _figure_batches(market):
        first = batch.filter(pc.equal(batch.column("revision"), 0))
        fill = [pc.fill_null(first.column(c), "") for c in ("sector", "occupation")]
        key = pc.binary_join_element_wise(first.column("area"), first.column("measure"), *fill, "|")
        parts.append(pa.table({"key": key, "period": first.column("period"),
                               "value": first.column("value")}))  # fmt: skip
    table = pa.concat_tables(parts).combine_chunks()
    keys = pc.dictionary_encode(table.column("key")).combine_chunks()
    periods = pc.dictionary_encode(table.column("period")).combine_chunks()
    series = keys.indices.to_numpy()
    order = np.argsort(periods.dictionary.to_numpy(zero_copy_only=False))  # "YYYY-MM" sorts
    month = np.argsort(order)[periods.indices.to_numpy()]
    matrix = np.full((len(order), len(keys.dictionary)), np.nan)
    matrix[month, series] = table.column("value").to_numpy()
    complete = ~np.isnan(matrix).any(axis=0)
    names = keys.dictionary.to_pylist()
    return (
        np.ascontiguousarray(matrix[:, complete]),
        [name for name, full in zip(names, complete.tolist(), strict=True) if full],
    )


def share_pairs(matrix: Matrix, keys: list[str]) -> Matrix:
    """(months x series x 2): each sub-national series with the country's of the same measure.

    What ``relative_shift`` reads in the engine: an area's count and the country's. Series
    with no national counterpart (the market's occupation breakdowns) are left out.
    """
    column = {key: i for i, key in enumerate(keys)}
    pairs = []
    for i, key in enumerate(keys):
        area, rest = key.split("|", 1)
        national = column.get(f"{COUNTRY}|{rest}")
        if area != COUNTRY and national is not None:
            pairs.append((i, national))
    if not pairs:
        return np.empty((matrix.shape[0], 0, 2))
    index = np.array(pairs)
    return np.stack([matrix[:, index[:, 0]], matrix[:, index[:, 1]]], axis=2)


@click.command("all")
@click.option(
    "--municipalities",
    default=400,
    show_default=True,
    help="Municipalities in the synthetic market (as `tutka bench replay`).",
)
@click.option(
    "--occupations",
    default=120,
    show_default=True,
    help="Occupation breakdowns per municipality (two measures each).",
)
@click.option("--months", default=120, show_default=True, help="Months of figures.")
@click.option("--end", default="2024-12", show_default=True, help="Last month (YYYY-MM).")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--occupation-file",
    type=click.Path(exists=True, path_type=Path),
    help="Also replay this file (the 12ti occupation table) in its own process.",
)
@click.option(
    "--kafka/--no-kafka",
    default=True,
    show_default=True,
    help="Also measure the Kafka path (starts a local broker unless "
    "TUTKA_KAFKA__BOOTSTRAP is set).",
)
@click.option(
    "--kafka-occupations",
    default=120,
    show_default=True,
    help="Occupation breakdowns of the Kafka run's market (120 ≈ 10 000 series).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the figures here as JSON.",
)
@click.pass_context
def bench_all(
    ctx: click.Context,
    municipalities: int,
    occupations: int,
    months: int,
    end: str,
    seed: int,
    occupation_file: Path | None,
    kafka: bool,
    kafka_occupations: int,
    json_out: Path | None,
) -> None:
    """Issue 18's table in one run: replay, river, detectors, the 12ti file and Kafka.

    The replay's market is `tutka bench replay`'s (by default 101 420 series x 120 months,
    12 million observations; writing it takes a few minutes and 2.4 GiB of temporary space).
    """
    context = load_context(ctx)
    figures: dict[str, Any] = {}
    with ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tutka-bench-")))
        _, paths = _market(context.areas_path, base, municipalities, occupations, months, end, seed)
        areas = context.areas_path if context.areas_path is not None else base / "areas.csv"
        console.print("Replaying the market (a process of its own) …")
        market = replay_in_child(paths, areas, context.catalogue_path)
        figures["replay"] = asdict(market)
        console.print("The same series for the detectors alone …")
        matrix, keys = market_series(paths[0])
        detectors = _detector_rows(context, matrix, share_pairs(matrix, keys))
        figures["detectors"] = detectors
    ti = None
    if occupation_file is not None:
        console.print(f"Replaying {occupation_file} (a process of its own) …")
        ti = replay_in_child([occupation_file], context.areas_path, context.catalogue_path)
        figures["occupation_file"] = asdict(ti)
    kafka_rows = None
    if kafka:
        console.print("The Kafka path …")
        kafka_rows = run_kafka_bench(
            kafka_occupations, "2021-01", "2023-12", 1000.0, KAFKA_LATENCY_EVENTS
        )
        figures["kafka"] = {
            "events": len(kafka_rows.events),
            "series": kafka_rows.series,
            "paced_events": len(kafka_rows.paced),
            "agents": {
                name: {
                    "events_per_second": full.rate,
                    "latency_of": paced.measured,
                    **_latency(paced.latency),
                }
                for name, full, paced in kafka_rows.rows
            },
        }
    _print_table(market, matrix.shape[1], detectors, ti, figures.get("kafka"))
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        console.print(f"Figures written to {json_out}")


def _latency(latency: Latency | None) -> dict[str, float | int | None]:
    """The paced run's latency as JSON fields (``latency_p50`` and ``latency_p99`` as before)."""
    if latency is None:
        return {"latency_n": 0, "latency_p50": None, "latency_p90": None, "latency_p99": None,
                "latency_max": None}  # fmt: skip
    return {
        "latency_n": latency.n,
        "latency_missing": latency.missing,
        "latency_p50": latency.p50,
        "latency_p90": latency.p90,
        "latency_p99": latency.p99,
        "latency_max": latency.max,
    }


def _detector_rows(context: Context, matrix: Matrix, pairs: Matrix) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    for name, run, takes_pairs in runs(context.catalogue):
        if name not in DETECTOR_ROWS or (takes_pairs and pairs.shape[1] == 0):
            continue
        row = measure(name, run, pairs if takes_pairs else matrix, repeat=1)
        rows[name] = {
            "observations": row.observations,
            "obs_per_second": row.rate,
            "obs_per_cpu_second": row.cpu_rate,
            "held_bytes_per_series": row.held_bytes,
        }
        console.print(f"  {name}: {row.cpu_rate:,.0f} obs/CPU s")
    return rows


def _print_table(
    market: ReplayRow,
    matrix_series: int,
    detectors: dict[str, dict[str, float]],
    ti: ReplayRow | None,
    kafka: dict[str, Any] | None,
) -> None:
    table = Table(title="Issue 18's table, one run (one core per row unless it says otherwise)")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_column("target", justify="right")
    table.add_row(
        f"tutka replay, {market.series:,} series, {market.observations:,} obs",
        f"{market.cpu_rate:,.0f} obs/CPU s ({market.rate:,.0f}/s wall), "
        f"{market.peak_rss_mb:,.0f} MiB",
        "≥ 2,000,000 obs/s",
    )
    table.add_row(
        "engine state per series (checkpoint JSON)", f"{market.state_per_series:,.0f} B", "≤ 300 B"
    )
    river = detectors.get("river PageHinkley")
    if river is None:
        table.add_row("river PageHinkley, same series", "river not installed: `[bench]` extra", "")
    else:
        ratio = market.cpu_rate / river["obs_per_cpu_second"]
        table.add_row(
            f"river PageHinkley alone, the same {matrix_series:,} series",
            f"{river['obs_per_cpu_second']:,.0f} obs/CPU s (replay: {ratio:.2f}x)",
            "replay ≥ 1.5x",
        )
    for name in DETECTOR_ROWS[:-1]:
        if name in detectors:
            row = detectors[name]
            what = "with the country's" if name.startswith("relative_shift") else "the same"
            table.add_row(
                f"{name}, {what} series ({row['observations']:,.0f} obs)",
                f"{row['obs_per_cpu_second']:,.0f} obs/CPU s",
                "",
            )
    if ti is not None:
        table.add_row(
            f"12ti replay, {ti.observations:,} obs",
            f"{ti.seconds:,.1f} s, {ti.peak_rss_mb:,.0f} MiB",
            "< 120 s, < 1,024 MiB",
        )
    if kafka is not None:
        for name, agent in kafka["agents"].items():
            p50, p99, n = agent["latency_p50"], agent["latency_p99"], agent["latency_n"]
            latency = (
                "–"
                if p99 is None
                else f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {agent['latency_max']:.2f} s "
                f"@ 1,000/s (n = {n:,} {agent['latency_of']}s)"
            )
            target = "≥ 20,000/s, p99 ≤ 1 s" if name.startswith("tutka worker") else ""
            table.add_row(
                f"Kafka: {name} ({kafka['events']:,} events)",
                f"{agent['events_per_second']:,.0f} events/s; {latency}",
                target,
            )
    console.print(table)
