"""``tutka replay``: the embedded pipeline over files, its alerts and a summary."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Final

import click
from pydantic import BaseModel, ValidationError
from rich.console import Console

from tutka.cli.context import Context, load_context
from tutka.config.settings import AlertmanagerSettings
from tutka.inputs import InputError
from tutka.models.alerts import AlertKind
from tutka.models.deadletter import DeadLetter
from tutka.monitoring.observe import Observer
from tutka.progress import with_replay_progress
from tutka.replay import Progress as ReplayProgress
from tutka.replay import ReplayResult, replay
from tutka.streams.explain import LANGS, MEASURES
from tutka.terminal import column, label, number, print_open_alerts, table

#: Exit status of a replay in which every record was rejected (1: an input could not be read).
ALL_REJECTED: Final = 3

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@click.command("replay")
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
    "--lang",
    type=click.Choice(["fi", "sv", "en"]),
    default="en",
    show_default=True,
    help="Language of the tables and of the open alerts' explanations.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many open alerts to list, most important first (0: none).",
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
    lang: str,
    top: int,
    metrics_port: int | None,
    alertmanager_urls: tuple[str, ...],
    linger: float,
) -> None:
    """Run the pipeline over files and report the alerts.

    PATHS are files or directories of JSON lines (layoff_notice, unemployment and vacancies
    events, one per line) or Statistics Finland long CSV (month,area,measure,value with PxWeb
    measure codes such as TYOTTOMATLOPUSSA, TYOVOIMATK, AVPAIKATLOPUSSA), optionally gzipped.
    Events are replayed in the order they became available. Bad lines become dead letters with a
    reason; they never stop the run. Exits 1 if an input cannot be read at all, 3 if every
    record was rejected (no events).
    """
    context = load_context(ctx)
    observer = _observer(context, metrics_port, alertmanager_urls)
    with ExitStack() as stack:
        sink = None if dead_letters is None else stack.enter_context(_JsonLines(dead_letters))
        try:
            result = _run_replay(
                context, list(paths), quiet, observer=observer,
                on_dead_letter=None if sink is None else sink.write, lang=lang,
            )  # fmt: skip
            if observer is not None:
                _linger(observer, result, linger, lang)
        finally:
            if observer is not None:
                observer.close()
    if out is not None:
        alerts = list(result.latest().values()) if latest else result.alerts
        _write_jsonl(out, (a.model_dump(mode="json") for a in alerts))
    _print_summary(result, quiet, lang)
    if not quiet and top > 0:
        print_open_alerts(console, result.latest().values(), lang, top)
    if out is not None:
        console.print(label("alerts_written", lang).format(path=out))
    if dead_letters is not None:
        console.print(label("dead_written", lang).format(path=dead_letters))
    if result.all_rejected:
        rejected = label("all_rejected", lang).format(n=number(result.records, lang))
        err.print(f"[red]{rejected}[/red]")
        ctx.exit(ALL_REJECTED)


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


def _linger(observer: Observer, result: ReplayResult, seconds: float, lang: str = "en") -> None:
    """Keep the picture up (metrics, re-posts) for ``seconds`` after the run."""
    if seconds <= 0:
        observer.pusher.drain()
        return
    err.print(f"[dim]{label('lingering', lang).format(s=f'{seconds:g}')}[/dim]")
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
    on_dead_letter: Callable[[DeadLetter], None] | None = None,
    lang: str = "en",
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
            on_dead_letter=on_dead_letter,
        )

    try:
        return with_replay_progress(run, err, quiet, label("replaying", lang))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_summary(result: ReplayResult, quiet: bool, lang: str = "en") -> None:
    latest = list(result.latest().values())
    rate = result.observations / result.seconds if result.seconds > 0 else 0.0
    accepted = result.accepted_by_type
    blank = (
        label("blank_skipped", lang).format(n=number(result.blank_lines, lang))
        if result.blank_lines
        else ""
    )
    by_type = ", ".join(
        f"{_event_type(k, lang)} {number(v, lang)}" for k, v in sorted(accepted.items())
    )
    console.print(
        label("read", lang).format(
            records=number(result.records, lang),
            events=number(result.accepted, lang),
            by_type=by_type,
            dead=number(result.dead_letter_total, lang),
            blank=blank,
            suppressed=number(result.suppressed, lang),
            alerts=number(len(latest), lang),
            versions=number(len(result.alerts), lang),
            s=number(result.seconds, lang, 1),
            rate=number(rate, lang),
            mib=number(result.peak_rss_mb, lang),
        )
    )
    for line in (result.unknown_areas_line(lang), result.calibration_line(lang)):
        if line is not None:
            console.print(line)
    if quiet:
        return
    if result.dead_letter_total:
        dead = table(label("dead_by_reason", lang))
        column(dead, label("reason", lang))
        column(dead, label("count", lang), right=True)
        for reason, n in result.dead_letter_reasons().most_common():
            dead.add_row(reason, f"{n:,}")
        console.print(dead)
    kinds = table(label("by_kind", lang))
    for name in ("kind", "polarity", "watch", "level2", "level3", "total"):
        column(kinds, label(name, lang), right=name not in ("kind", "polarity"))
    rows: dict[tuple[str, str], dict[int, int]] = {}
    for alert in latest:
        row = rows.setdefault((alert.kind.value, alert.polarity.value), {})
        row[alert.severity.rank] = row.get(alert.severity.rank, 0) + 1
    for (kind, polarity), row in sorted(rows.items()):
        kinds.add_row(
            kind if lang == "en" else MEASURES[AlertKind(kind)][LANGS.index(lang)],
            label(polarity, lang),
            *(str(row.get(rank, 0)) for rank in (1, 2, 3)),
            str(sum(row.values())),
        )
    console.print(kinds)


def _event_type(name: str, lang: str) -> str:
    """An event type (``layoff_notice``, ``unemployment``, ``vacancies``) in ``lang``."""
    try:
        return label(f"type_{name}", lang)
    except KeyError:
        return name


class _JsonLines:
    """A JSON-lines file written one model at a time (dead letters, as they come)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8")

    def write(self, model: BaseModel) -> None:
        self.handle.write(model.model_dump_json() + "\n")

    def __enter__(self) -> _JsonLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _write_jsonl(path: Path, rows: Iterable[object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
