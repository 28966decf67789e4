"""``tutka demo``: a synthetic labour market, the full pipeline, and a situation-room summary."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from config.catalogue import Catalogue
from models.alerts import Alert, Localized
from models.areas import Hierarchy
from models.codes import period_index
from streams.signals import SeriesKey
from tutka.plot import plot_evidence
from tutka.replay import ReplayResult, replay
from tutka.report import EventMatch, KnownEvent, match_events, most_severe, unexplained
from tutka.synthetic import generate, write

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "watch": "cyan"}


def run_demo(
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sectors: dict[str, Localized],
    out_dir: Path,
    seed: int,
    lang: str,
    console: Console,
    err: Console,
) -> None:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    with err.status("Generating a synthetic Finnish labour market…"):
        dataset = generate(seed=seed, hierarchy=hierarchy)
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
    _header(console, result, len(dataset.events), out_dir)
    _truth_table(console, matches, lang)
    _alert_table(console, latest, matches, lang)
    alerts_file = out_dir / "alerts.jsonl"
    _write_alerts(alerts_file, result.alerts)
    chart = _chart(result, matches, latest, out_dir, lang)
    (out_dir / "dead-letters.jsonl").write_text(
        "".join(d.model_dump_json() + "\n" for d in result.dead_letters), encoding="utf-8"
    )
    summary = _summary(result, matches, time.perf_counter() - started)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    console.print()
    console.print(f"[bold]Outputs[/bold] (in {out_dir}):")
    console.print(f"  input data      {data_dir}  (replay it: tutka replay {data_dir})")
    console.print(f"  alerts          {alerts_file}  (JSON lines, every version)")
    if chart is not None:
        console.print(f"  evidence chart  {chart}")
    console.print(f"  summary         {out_dir / 'summary.json'}")
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


def _header(console: Console, result: ReplayResult, n_events: int, out_dir: Path) -> None:
    stats = result.engine.stats
    console.rule("[bold]Muutostutka demo — a synthetic Finnish labour market")
    console.print(
        f"{n_events:,} events ({', '.join(f'{k} {v:,}' for k, v in sorted(stats.events.items()))}) "
        f"replayed in {result.seconds:.1f} s; {stats.releases} monthly releases, "
        f"{len(result.engine.series):,} series watched, {sum(stats.signals.values()):,} detector "
        f"signals, {len(result.latest())} alerts, {len(result.dead_letters)} dead letters."
    )


def _truth_table(console: Console, matches: list[EventMatch], lang: str) -> None:
    table = Table(title="What was injected, and what Muutostutka found", show_lines=True)
    for column in ("injected event", "reference", "first alert", "opened", "available", "delay"):
        table.add_column(column)
    for match in matches:
        first = match.first
        what = f"[bold]{match.event.event_id}[/bold] ({match.event.polarity})\n{match.event.what}"
        if first is None:
            table.add_row(what, match.event.reference_month, "[red]not found[/red]", "", "", "")
            continue
        delay = match.delay_months
        table.add_row(
            what,
            match.event.reference_month,
            f"{first.kind.value} · {getattr(first.area_name, lang)} ({first.area}) · "
            f"[{_SEVERITY_STYLE[first.severity.value]}]{first.severity.value}[/]\n"
            f"{len(match.alerts)} alert(s) in all",
            first.opened_period,
            first.available_on.isoformat(),
            f"{delay:+d} months" if delay is not None else "",
        )
    console.print(table)


def _alert_table(
    console: Console, latest: list[Alert], matches: list[EventMatch], lang: str
) -> None:
    explained = {a.id for m in matches for a in m.alerts}
    table = Table(title=f"Alerts ({len(latest)}), most severe first", show_lines=False)
    for column in (
        "severity",
        "kind",
        "polarity",
        "area",
        "opened",
        "status",
        "truth",
        "explanation",
    ):
        table.add_column(column, overflow="fold")
    for alert in most_severe(latest)[:25]:
        table.add_row(
            f"[{_SEVERITY_STYLE[alert.severity.value]}]{alert.severity.value}[/]",
            alert.kind.value,
            alert.polarity.value,
            f"{getattr(alert.area_name, lang)} ({alert.area})",
            alert.opened_period,
            alert.status.value,
            "✓" if alert.id in explained else "·",
            getattr(alert.explanation, lang),
        )
    console.print(table)
    others = unexplained(matches, latest)
    if len(latest) > 25:
        console.print(f"… and {len(latest) - 25} more in alerts.jsonl.")
    console.print(
        f"{len(latest) - len(others)} alerts point at an injected event; {len(others)} do not "
        "(background notice bursts and noise — the analyst's call)."
    )


def _chart(
    result: ReplayResult, matches: list[EventMatch], latest: list[Alert], out_dir: Path, lang: str
) -> Path | None:
    """Chart the most severe alert that found an injected figure-based event."""
    candidates = [
        a for m in matches for a in m.alerts if a.kind.value not in ("layoff_notices", "outlier")
    ]
    chosen = most_severe(candidates or latest)
    if not chosen:
        return None
    alert = chosen[0]
    head = max(alert.evidence, key=lambda e: abs(e.value - e.baseline))
    key = _series_key(head.series)
    values = {
        period_index(e.period): e.value
        for e in result.events
        if e.type != "layoff_notice"
        and SeriesKey(e.area, e.measure.value, e.sector, e.occupation) == key  # type: ignore[union-attr]
    }
    if not values:
        return None
    return plot_evidence(alert, values, out_dir / f"evidence-{alert.id}.png", lang)


def _series_key(text: str) -> SeriesKey:
    parts = text.split("/")
    sector = next((p[4:] for p in parts[2:] if p.startswith("tol:")), None)
    occupation = next((p[5:] for p in parts[2:] if p.startswith("isco:")), None)
    return SeriesKey(parts[0], parts[1], sector, occupation)


def _write_alerts(path: Path, alerts: list[Alert]) -> None:
    path.write_text("".join(a.model_dump_json() + "\n" for a in alerts), encoding="utf-8")


def _summary(result: ReplayResult, matches: list[EventMatch], seconds: float) -> dict[str, object]:
    latest = list(result.latest().values())
    return {
        "seconds": round(seconds, 2),
        "events": dict(result.engine.stats.events),
        "dead_letters": len(result.dead_letters),
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
