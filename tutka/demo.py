"""``tutka demo``: a synthetic labour market, the full pipeline, and a situation-room summary."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Protocol

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Alert, Localized
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_index
from tutka.models.events import LayoffNoticeFiled
from tutka.plot import plot_evidence
from tutka.replay import ReplayResult, replay
from tutka.report import EventMatch, KnownEvent, match_events, most_severe, unexplained
from tutka.streams.signals import SeriesKey
from tutka.synthetic import generate, write
from tutka.terminal import SEVERITY_STYLE as _SEVERITY_STYLE
from tutka.terminal import label


class DemoContext(Protocol):
    catalogue: Catalogue
    sectors: dict[str, Localized]

    @property
    def synthetic_world(self) -> Hierarchy: ...


def run_demo(
    context: DemoContext,
    out_dir: Path,
    seed: int,
    lang: str,
    start: str,
    end: str,
    console: Console,
    err: Console,
) -> None:
    started = time.perf_counter()
    hierarchy, catalogue, sectors = context.synthetic_world, context.catalogue, context.sectors
    out_dir.mkdir(parents=True, exist_ok=True)
    with err.status("Generating a synthetic Finnish labour market…"):
        dataset = generate(seed=seed, start=start, end=end, hierarchy=hierarchy)
        data_dir = out_dir / "data"
        write(dataset, data_dir)
    with err.status("Running the pipeline (detect → judge the release → alert)…"):
        result = replay([data_dir], hierarchy, catalogue, sectors, keep_events=True)
    latest = list(result.latest().values())
    events = [
        KnownEvent(
            t.event_id, tuple(t.regions), t.reference_month, t.polarity, t.what, t.confidence
        )
        for t in dataset.truth
    ]
    matches = match_events(events, latest, hierarchy)
    _header(console, result, len(dataset.events), out_dir, lang)
    _truth_table(console, matches, lang)
    _alert_table(console, latest, matches, lang)
    _stories(console, latest)
    alerts_file = out_dir / "alerts.jsonl"
    _write_alerts(alerts_file, result.alerts)
    chart, charted = _chart(result, matches, latest, out_dir, lang)
    if charted is not None:
        _explain(console, charted, lang)
    (out_dir / "dead-letters.jsonl").write_text(
        "".join(d.model_dump_json() + "\n" for d in result.dead_letters), encoding="utf-8"
    )
    summary = _summary(result, matches, time.perf_counter() - started)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    console.print()
    console.print(f"[bold]{label('outputs', lang)}[/bold] ({out_dir}):")
    console.print(f"  input data      {data_dir}  (replay it: tutka replay {data_dir})")
    console.print(f"  alerts          {alerts_file}  (JSON lines, every version)")
    if chart is not None:
        console.print(f"  evidence chart  {chart}")
    console.print(f"  summary         {out_dir / 'summary.json'}")
    console.print(label("done", lang).format(s=f"{time.perf_counter() - started:.1f}"))


def _header(
    console: Console, result: ReplayResult, n_events: int, out_dir: Path, lang: str = "en"
) -> None:
    stats = result.engine.stats
    console.rule(f"[bold]{label('demo_title', lang)}")
    console.print(
        f"{n_events:,} events ({', '.join(f'{k} {v:,}' for k, v in sorted(stats.events.items()))}) "
        f"replayed in {result.seconds:.1f} s; {stats.releases} monthly releases, "
        f"{len(result.engine.series):,} series watched, {sum(stats.signals.values()):,} detector "
        f"signals, {len(result.latest())} alerts, {result.dead_letter_total} dead letters."
    )


def _truth_table(console: Console, matches: list[EventMatch], lang: str) -> None:
    table = Table(title=label("demo_truth", lang), box=box.SIMPLE_HEAD)
    # The first alert itself is the first line under each event below: the table stays narrow
    # enough for 80 columns with the events' names whole.
    for column in ("injected", "reference", "available", "delay", "alerts"):
        table.add_column(label(column, lang), no_wrap=column == "injected")
    for match in matches:
        first = match.first
        event = f"{match.event.event_id} ({'+' if match.event.polarity == 'positive' else '−'})"
        if first is None:
            missing = f"[red]{label('not_found', lang)}[/red]"
            table.add_row(event, match.event.reference_month, missing, "", "0")
            continue
        table.add_row(
            event,
            match.event.reference_month,
            first.available_on.isoformat(),
            f"{match.delay_months:+d} {label('months', lang)}"
            if match.delay_months is not None
            else "",
            str(len(match.alerts)),
        )
    console.print(table)
    for match in matches:
        console.print(f"[bold]{match.event.event_id}[/bold]: {match.event.what}")
        for alert in match.alerts[:6]:
            console.print(f"  {_line(alert, lang)}")
        if len(match.alerts) > 6:
            console.print(f"  … {len(match.alerts) - 6} more")


def _place(alert: Alert, lang: str) -> str:
    sector = f", TOL {alert.sector}" if alert.sector else ""
    return f"{getattr(alert.area_name, lang)} ({alert.area}{sector})"


def _severity(alert: Alert, width: int = 0, lang: str = "en") -> str:
    text = label(alert.severity.value, lang).ljust(width)
    return f"[{_SEVERITY_STYLE[alert.severity.value]}]{text}[/]"


def _line(alert: Alert, lang: str) -> str:
    span = f"{alert.opened_period}→{alert.resolved_period or 'open'}"
    return (
        f"{alert.available_on.isoformat()} {_severity(alert, 10, lang)} "
        f"{'−' if alert.polarity.value == 'negative' else '+'} "
        f"{alert.kind.value:<18} {span} {_place(alert, lang)}{_story_tag(alert)}"
    )


def _story_tag(alert: Alert) -> str:
    """`` [confirmed, structural]`` for an alert with a story, the rule for a policy trigger."""
    if alert.trigger is not None:
        return escape(f" [{alert.trigger.rule.value}]")
    if alert.story is None:
        return ""
    status = alert.story.status.value + ", " if alert.story.status else ""
    return escape(f" [{status}{alert.story.change_class.value}]")


def _stories(console: Console, latest: list[Alert]) -> None:
    """How the notices' stories ended, how changes were classed, which policy triggers fired."""
    stories = Counter(
        (a.story.status.value if a.story.status else "no notices", a.story.change_class.value)
        for a in latest
        if a.story is not None and a.kind.value != "layoff_notices"
    )
    notices = Counter(a.story.status.value for a in latest if a.story and a.story.status
                      and a.kind.value == "layoff_notices")  # fmt: skip
    triggers = Counter(a.trigger.rule.value for a in latest if a.trigger is not None)
    console.print()
    console.print("[bold]Notices lead, figures confirm[/bold] (latest versions):")
    console.print("  notice alerts: " + ", ".join(f"{k} {v}" for k, v in sorted(notices.items())))
    console.print(
        "  negative figure alerts: "
        + ", ".join(f"{s} / {c} {n}" for (s, c), n in sorted(stories.items()))
    )
    console.print(
        "  policy triggers: " + ", ".join(f"{k} {v}" for k, v in sorted(triggers.items()))
    )


def _alert_table(
    console: Console, latest: list[Alert], matches: list[EventMatch], lang: str
) -> None:
    others = unexplained(matches, latest)
    console.print()
    console.print(
        f"[bold]{label('all_alerts', lang).format(n=len(latest))}[/bold]"
        + label("all_alerts_tail", lang).format(hit=len(latest) - len(others), other=len(others))
    )
    for alert in most_severe(others)[:8]:
        console.print(f"  {_line(alert, lang)}")


def _explain(console: Console, alert: Alert, lang: str = "en") -> None:
    console.print()
    console.print(
        f"[bold]{label('what_says', lang)}[/bold] ({alert.id}, {alert.kind.value}, {alert.area}):"
    )
    for other in sorted(("fi", "sv", "en"), key=lambda code: code != lang):
        console.print(f"  {other}: {getattr(alert.explanation, other)}")
    if alert.story is not None:
        console.print(f"  {_story_tag(alert).strip()}")
        for other in sorted(("fi", "sv", "en"), key=lambda code: code != lang):
            console.print(f"  {other}: {getattr(alert.story.explanation, other)}")


def _chart(
    result: ReplayResult, matches: list[EventMatch], latest: list[Alert], out_dir: Path, lang: str
) -> tuple[Path | None, Alert | None]:
    """Chart the most severe local alert that found an injected change in the figures."""
    candidates = [
        a
        for m in matches
        for a in m.alerts
        if a.kind.value not in ("layoff_notices", "outlier") and a.area != "SSS"
    ]
    # The most severe, best corroborated one: it has the most to show.
    chosen = sorted(
        candidates or latest,
        key=lambda a: (-a.severity.rank, -len({e.detector for e in a.evidence}), a.opened_period),
    )
    if not chosen:
        return None, None
    alert = chosen[0]
    head = max(alert.evidence, key=lambda e: abs(e.value - e.baseline))
    key = SeriesKey.parse(head.series)
    values = {
        period_index(e.period): e.value
        for e in result.events
        if not isinstance(e, LayoffNoticeFiled)
        and SeriesKey(e.area, e.measure.value, e.sector, e.occupation) == key
    }
    if not values:
        return None, alert
    return plot_evidence(alert, values, out_dir / f"evidence-{alert.id}.png", lang), alert


def _write_alerts(path: Path, alerts: list[Alert]) -> None:
    path.write_text("".join(a.model_dump_json() + "\n" for a in alerts), encoding="utf-8")


def _summary(result: ReplayResult, matches: list[EventMatch], seconds: float) -> dict[str, object]:
    latest = list(result.latest().values())
    return {
        "seconds": round(seconds, 2),
        "events": dict(result.engine.stats.events),
        "dead_letters": result.dead_letter_total,
        "alerts": len(latest),
        "alert_versions": len(result.alerts),
        "truth": [
            {
                "event_id": m.event.event_id,
                "found": m.first is not None,
                "first_alert": m.first.id if m.first else None,
                "first_kind": m.first.kind.value if m.first else None,
                "first_area": m.first.area if m.first else None,
                "delay_months": m.delay_months,
                "alerts": len(m.alerts),
            }
            for m in matches
        ],
        "unexplained_alerts": len(unexplained(matches, latest)),
    }
