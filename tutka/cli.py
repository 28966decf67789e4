"""``tutka`` — the Muutostutka command line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tutka.config.areas import demo_hierarchy, load_hierarchy
from tutka.config.catalogue import Catalogue, load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import AlertmanagerSettings, Settings
from tutka.dev.local_kafka import kafka_group
from tutka.inputs import InputError
from tutka.models.alerts import Alert
from tutka.models.areas import Hierarchy
from tutka.models.deadletter import DeadLetter
from tutka.monitoring.observe import Observer
from tutka.nab import nab_command
from tutka.progress import with_replay_progress
from tutka.replay import Progress as ReplayProgress
from tutka.replay import ReplayResult, replay

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Context:
    """Settings and the validated configuration, loaded once per invocation."""

    def __init__(self, areas: Path | None, catalogue: Path | None) -> None:
        try:
            settings = Settings()
        except ValidationError as exc:
            raise click.ClickException(f"invalid TUTKA_ settings:\n{exc}") from exc
        self.settings = settings
        self.areas_path = areas or settings.areas.path
        self.catalogue_path = catalogue or settings.catalogue
        try:
            self.hierarchy: Hierarchy = load_hierarchy(self.areas_path, settings.areas.year)
            self.catalogue: Catalogue = load_catalogue(self.catalogue_path)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        self.sectors = localized_sector_names()

    @property
    def synthetic_world(self) -> Hierarchy:
        """The hierarchy a synthetic market is made of: the demo's small world, unless an areas
        file was given (the shipped default is the whole classification: 309 municipalities)."""
        return self.hierarchy if self.areas_path is not None else demo_hierarchy()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--areas",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Area hierarchy: ours (code,name_fi,name_sv,name_en,parent) or Statistics Finland's "
    "municipality correspondence (e.g. regions_by_year_2020_2025.csv). Default: the shipped "
    "classification, every current municipality (env TUTKA_AREAS__PATH).",
)
@click.option(
    "--catalogue",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Detector catalogue TOML (default: tutka/config/detectors.toml; env TUTKA_CATALOGUE).",
)
@click.version_option(package_name="muutostutka", prog_name="tutka")
@click.pass_context
def cli(ctx: click.Context, areas: Path | None, catalogue: Path | None) -> None:
    """Muutostutka — early warning of labour-market structural change.

    Consumes layoff notices, unemployment and vacancy figures, finds level shifts, seasonal
    deviations, notice bursts, local divergence and multivariate outliers, and explains each alert
    in Finnish, Swedish and English. People decide; the system explains.
    """
    ctx.obj = (areas, catalogue)


def _context(ctx: click.Context) -> Context:
    areas, catalogue = ctx.obj
    return Context(areas, catalogue)


# -- replay ---------------------------------------------------------------------------------------


@cli.command("replay")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write alerts as JSON lines here (every emitted version, in order).",
)
@click.option(
    "--latest", is_flag=True, help="With --out: write only the final version of each alert."
)
@click.option(
    "--dead-letters",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write dead letters (rejected input with reasons) as JSON lines here.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar or tables; just the summary line."
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus /metrics on this port (host: TUTKA_METRICS__HOST).",
)
@click.option(
    "--alertmanager",
    "alertmanager_urls",
    multiple=True,
    help="Push alerts to this Alertmanager (base URL; repeatable). "
    "Default: TUTKA_ALERTMANAGER__URLS.",
)
@click.option(
    "--linger",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to keep serving metrics and re-posting open alerts after the run "
    "(Ctrl-C ends it early).",
)
@click.pass_context
def replay_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path | None,
    latest: bool,
    dead_letters: Path | None,
    quiet: bool,
    metrics_port: int | None,
    alertmanager_urls: tuple[str, ...],
    linger: float,
) -> None:
    """Run the pipeline over files and report the alerts.

    PATHS are files or directories of JSON lines (layoff_notice, unemployment and vacancies
    events, one per line) or Statistics Finland long CSV (month,area,measure,value with PxWeb
    measure codes such as TYOTTOMATLOPUSSA, TYOVOIMATK, AVPAIKATLOPUSSA), optionally gzipped.
    Events are replayed in the order they became available. Bad lines become dead letters with a
    reason; they never stop the run. Exits non-zero if an input cannot be read at all.
    """
    context = _context(ctx)
    observer = _observer(context, metrics_port, alertmanager_urls)
    try:
        result = _run_replay(context, list(paths), quiet, observer=observer)
        if observer is not None:
            _linger(observer, result, linger)
    finally:
        if observer is not None:
            observer.close()
    if out is not None:
        alerts = list(result.latest().values()) if latest else result.alerts
        _write_jsonl(out, (a.model_dump(mode="json") for a in alerts))
    if dead_letters is not None:
        _write_jsonl(dead_letters, (d.model_dump(mode="json") for d in result.dead_letters))
    _print_summary(result, quiet)
    if out is not None:
        console.print(f"Alerts written to [bold]{out}[/bold]")
    if dead_letters is not None:
        console.print(f"Dead letters written to [bold]{dead_letters}[/bold]")


def _observer(
    context: Context, metrics_port: int | None, alertmanager_urls: Sequence[str]
) -> Observer | None:
    """Metrics endpoint and Alertmanager push for a replay, if either was asked for."""
    settings = context.settings
    alertmanager = settings.alertmanager
    if alertmanager_urls:
        try:
            alertmanager = AlertmanagerSettings.model_validate(
                {**alertmanager.model_dump(), "urls": list(alertmanager_urls)}
            )
        except ValidationError as exc:
            raise click.BadParameter(str(exc), param_hint="--alertmanager") from exc
    if metrics_port is None and not alertmanager.urls:
        return None
    metrics = settings.metrics.model_copy(update={"port": metrics_port or 0})
    try:
        return Observer.create(context.hierarchy, metrics, alertmanager)
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on port {metrics_port}: {exc}") from exc


def _linger(observer: Observer, result: ReplayResult, seconds: float) -> None:
    """Keep the picture up (metrics, re-posts) for ``seconds`` after the run."""
    if seconds <= 0:
        observer.pusher.drain()
        return
    err.print(f"[dim]serving metrics and open alerts for {seconds:g} s (Ctrl-C to stop)[/dim]")
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            observer.refresh(result.engine)
    except KeyboardInterrupt:
        pass
    observer.pusher.drain()


def _run_replay(
    context: Context,
    paths: Sequence[Path],
    quiet: bool,
    keep_events: bool = False,
    observer: Observer | None = None,
) -> ReplayResult:
    def run(progress: ReplayProgress | None) -> ReplayResult:
        return replay(
            paths,
            context.hierarchy,
            context.catalogue,
            context.sectors,
            progress,
            keep_events,
            observer,
        )

    try:
        return with_replay_progress(run, err, quiet)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_summary(result: ReplayResult, quiet: bool) -> None:
    latest = list(result.latest().values())
    stats = result.engine.stats
    rate = result.observations / result.seconds if result.seconds > 0 else 0.0
    console.print(
        f"Read {result.records:,} records: {sum(stats.events.values()):,} events "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(stats.events.items()))}), "
        f"{len(result.dead_letters):,} dead letters. "
        f"{len(latest):,} alerts ({len(result.alerts):,} versions) in {result.seconds:.1f} s "
        f"({rate:,.0f} observations/s, peak memory {result.peak_rss_mb:,.0f} MiB)."
    )
    unknown = result.unknown_areas_line()
    if unknown is not None:
        console.print(f"[yellow]{unknown}[/yellow]")
    calibration = result.calibration_line()
    if calibration is not None:
        console.print(calibration)
    if quiet:
        return
    if result.dead_letters:
        table = Table(title="Dead letters by reason")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for reason, n in result.dead_letter_reasons().most_common():
            table.add_row(reason, f"{n:,}")
        console.print(table)
    table = Table(title="Alerts by kind, polarity and severity")
    for column in ("kind", "polarity", "watch", "warning", "critical", "total"):
        table.add_column(column, justify="right" if column not in ("kind", "polarity") else "left")
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for alert in latest:
        row = rows.setdefault((alert.kind.value, alert.polarity.value), {})
        row[alert.severity.value] = row.get(alert.severity.value, 0) + 1
    for (kind, polarity), row in sorted(rows.items()):
        table.add_row(
            kind,
            polarity,
            *(str(row.get(s, 0)) for s in ("watch", "warning", "critical")),
            str(sum(row.values())),
        )
    console.print(table)


def _write_jsonl(path: Path, rows: Iterable[object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


# -- simulate -------------------------------------------------------------------------------------


@cli.command("simulate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@click.option("--start", default="2012-01", show_default=True, help="First month (YYYY-MM).")
@click.option("--end", default="2024-12", show_default=True, help="Last month (YYYY-MM).")
@click.option(
    "--occupations",
    default=0,
    show_default=True,
    help="Also break unemployment and vacancies down by this many ISCO-08 occupations.",
)
@click.option(
    "--scenario",
    type=click.Choice(["fixed", "random"]),
    default="fixed",
    show_default=True,
    help="fixed: the demo's four events (magnitudes vary by seed); random: 8-12 events of random "
    "kinds, places, months and strengths per seed, some deliberately subtle (for backtests).",
)
@click.option(
    "--events",
    type=click.IntRange(0, 40),
    help="With --scenario random: place this many events (default: 8-12, from the seed).",
)
@click.option(
    "--municipalities",
    type=click.IntRange(1, 999),
    help="Simulate this many municipalities: the shipped areas plus invented ones with unused "
    "codes (no shared data needed). Not with --areas.",
)
@click.pass_context
def simulate_command(
    ctx: click.Context,
    out_dir: Path,
    seed: int,
    start: str,
    end: str,
    occupations: int,
    scenario: str,
    events: int | None,
    municipalities: int | None,
) -> None:
    """Write a synthetic Finnish labour market with its ground truth to OUT_DIR.

    Files: unemployment.jsonl, vacancies.jsonl, notices.jsonl (events in availability order),
    truth.csv (injected structural changes: event_id,regions,reference_month,polarity,
    confidence,what) and manifest.json. Replay them with `tutka replay OUT_DIR`. Figures are
    streamed to disk, so 10^5 series (e.g. --municipalities 999 --occupations 50) fit in memory.
    """
    from tutka.synthetic import plan, synthetic_hierarchy, write_plan

    context = _context(ctx)
    if municipalities is not None and ctx.obj[0] is not None:
        raise click.UsageError("give either --areas or --municipalities, not both")
    started = time.perf_counter()
    try:
        hierarchy = (
            synthetic_hierarchy(municipalities)
            if municipalities is not None
            else context.synthetic_world
        )
        synthetic = plan(
            seed=seed,
            start=start,
            end=end,
            hierarchy=hierarchy,
            occupations=occupations,
            scenario="random" if scenario == "random" else "fixed",
            events=events,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(
        f"{len(synthetic.areas):,} areas, {synthetic.series:,} series x {synthetic.months} months "
        f"= {synthetic.series * synthetic.months:,} figures (and their revisions), "
        f"{len(synthetic.notices):,} notices, {len(synthetic.truth)} injected events "
        f"({scenario} scenario, seed {seed}); writing…"
    )
    files = write_plan(synthetic, out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    console.print(
        f"Wrote {sum(manifest['counts'].values()):,} events in "
        f"{time.perf_counter() - started:.1f} s (peak memory {_peak_rss_mib():,.0f} MiB):"
    )
    for file in files:
        console.print(f"  {file}")


def _peak_rss_mib() -> float:
    """This process's peak resident set size (Linux and macOS report it in different units)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# -- demo -----------------------------------------------------------------------------------------


@cli.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default: TUTKA_OUTPUT_DIR/demo, i.e. tutka-out/demo).",
)
@click.option("--seed", default=7, show_default=True, help="Random seed of the synthetic market.")
@click.option(
    "--lang",
    type=click.Choice(["fi", "sv", "en"]),
    default="en",
    show_default=True,
    help="Language of the explanations shown.",
)
@click.option("--start", default="2012-01", show_default=True, help="First month simulated.")
@click.option("--end", default="2024-12", show_default=True, help="Last month simulated.")
@click.pass_context
def demo_command(
    ctx: click.Context, out_dir: Path | None, seed: int, lang: str, start: str, end: str
) -> None:
    """Generate a realistic synthetic labour market, find its structural changes, and report.

    The market has seasonality, noise, small and large areas, a nationwide downturn, a plant
    closure preceded by layoff notices, a temporary-layoff wave that recovers and a hiring surge.
    The report compares the alerts with what was injected, and a chart shows one alert's
    evidence. Runs on the embedded default: no broker, no shared data.
    """
    from tutka.demo import run_demo

    context = _context(ctx)
    target = out_dir or context.settings.output_dir / "demo"
    try:
        run_demo(context, target, seed, lang, start, end, console, err)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


# -- kafka (a local broker for development and integration tests) -------------------------------

cli.add_command(kafka_group)
cli.add_command(nab_command)


def _register_streaming() -> None:
    from tutka.bench import bench_group
    from tutka.streaming import (
        alerts_group,
        publish_command,
        subscriptions_group,
        worker_command,
    )

    cli.add_command(worker_command)
    cli.add_command(subscriptions_group)
    cli.add_command(bench_group)
    cli.add_command(publish_command)
    cli.add_command(alerts_group)


_register_streaming()


def _register_room() -> None:
    from tutka.bench import bench_group
    from tutka.room.bench import bench_room
    from tutka.room.cli import room_group

    cli.add_command(room_group)
    bench_group.add_command(bench_room)


_register_room()


def _register_evaluation() -> None:
    from tutka.backtest import backtest_command

    cli.add_command(backtest_command)


_register_evaluation()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["Alert", "DeadLetter", "cli", "main"]


if __name__ == "__main__":
    main()
