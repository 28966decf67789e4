"""``tutka backtest``: replay the inputs, score the alerts and the year-on-year rule against events.

The shell only: it reads the events file and the inputs, runs the replay, and hands everything to
the pure scoring in :mod:`tutka.evaluation.backtest` and :mod:`tutka.evaluation.yoy_rule` (whose
docstrings define every figure), then prints the scorecard and writes it as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tutka.evaluation.backtest import (
    DEFAULT_SHOCKS,
    Alarm,
    BacktestRules,
    EventsFileError,
    FalseAlarmRate,
    LabelledEvent,
    PolarityCount,
    PolarityFigure,
    Scorecard,
    ScoredData,
    Shock,
    Summary,
    alarms_from_alerts,
    parse_events,
    score,
)
from tutka.evaluation.shifts import (
    AreaPolarity,
    Shift,
    ShiftScorecard,
    alarm_months,
    covered_months,
    label_shifts,
    score_shifts,
)
from tutka.evaluation.yoy_rule import DEFAULT_THRESHOLD, UnemploymentRates, yoy_alarms
from tutka.inputs import InputError, input_files, read_records
from tutka.models.areas import COUNTRY, Hierarchy
from tutka.models.codes import AREA_LEVELS, area_level, period_index
from tutka.progress import with_replay_progress
from tutka.replay import Progress as ReplayProgress
from tutka.replay import ReplayResult, replay
from tutka.terminal import folding

if TYPE_CHECKING:
    from tutka import sweep as sweep_types
    from tutka.cli.context import Context

# Piped output gets a wide console, so tables stay whole instead of folding to 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 180)
err = Console(stderr=True, highlight=False)

DETECTORS = "detectors"
BASELINE = "yoy_rule"
#: Budgets --sweep runs by default (kept here so `--help` does not import the sweep module).
DEFAULT_BUDGETS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
LEVEL_NAMES = {
    "SSS": "country",
    "ELY": "ELY area",
    "MK": "region",
    "SK": "sub-region",
    "KU": "municipality",
}


@click.command("backtest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled events CSV: event_id,regions,reference_month,polarity,confidence,what "
    "(regions ;-separated; e.g. a synthetic data set's truth.csv).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the scorecard here (default: TUTKA_OUTPUT_DIR/backtest/scorecard.json).",
)
@click.option(
    "--shock",
    "shocks",
    multiple=True,
    metavar="YYYY-MM:YYYY-MM",
    help="A nationwide shock period in which no alarm counts as false (repeatable). "
    f"Default: {' and '.join(DEFAULT_SHOCKS)}.",
)
@click.option("--no-shocks", is_flag=True, help="No shock periods at all.")
@click.option(
    "--yoy-threshold",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="The baseline's threshold: percentage points by which an area's year-on-year change "
    "of the unemployment rate must exceed the country's.",
)
@click.option(
    "--shifts",
    "with_shifts",
    is_flag=True,
    help="Also score against lasting shifts of the municipalities' unemployment, labelled with "
    "hindsight (tutka.evaluation.shifts).",
)
@click.option(
    "--sweep",
    "with_sweep",
    is_flag=True,
    help="Replay at a range of false-alarm budgets and write the recall / false-alarm curve "
    "(table, JSON and PNG) for shifts and events, the year-on-year rule on the same axes.",
)
@click.option(
    "--budgets",
    default=",".join(f"{b:g}" for b in DEFAULT_BUDGETS),
    show_default=True,
    help="The budgets --sweep runs (false-alarm episodes per 100 area-years, comma-separated).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-event table.")
@click.pass_context
def backtest_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    events_path: Path,
    json_path: Path | None,
    shocks: tuple[str, ...],
    no_shocks: bool,
    yoy_threshold: float,
    with_shifts: bool,
    with_sweep: bool,
    budgets: str,
    quiet: bool,
) -> None:
    """Replay PATHS (anything `tutka replay` reads) and score the alerts against labelled events.

    For each event and region: detected or not, and the delay in months from the reference month
    to the month the first alert became available (negative = early warning; window: 3 months
    before to 12 after). Also recall, median delay and false-alarm episodes per 100 area-years
    outside event windows and shock periods — for the detectors and, side by side, for the
    analysts' year-on-year rule. Prints the scorecard and writes it as JSON.
    """
    from tutka.cli.context import Context

    started = time.perf_counter()
    areas, catalogue = ctx.obj
    context = Context(areas, catalogue)
    rules = BacktestRules(shocks=_shocks(shocks, no_shocks))
    events = _read_events(events_path, context.hierarchy)
    try:
        rates = _read_rates(paths)
        result = _replay(context, paths, quiet)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    span = rates.periods()
    if span is None:
        raise click.ClickException(
            "the inputs hold no unemployment figures (unemployed job-seekers): the backtest needs "
            "them for the months of data and for the year-on-year baseline"
        )
    first, last = span
    detectors = alarms_from_alerts(result.alerts, period_index(last) + 1)
    scored = {a for a in rates.areas if a in context.hierarchy} | {a.area for a in detectors}
    yoy = yoy_alarms(rates, yoy_threshold)
    card = score(
        events,
        context.hierarchy,
        ScoredData.of(scored, first, last),
        {DETECTORS: detectors, BASELINE: yoy},
        rules,
    )
    municipal = _municipal(rates) if with_shifts or with_sweep else None
    shift_card = _shift_card(municipal, result, yoy) if municipal is not None else None
    _print(card, result, yoy_threshold, quiet)
    if shift_card is not None:
        _print_shifts(shift_card, yoy_threshold)
    target = json_path or context.settings.output_dir / "backtest" / "scorecard.json"
    extra: dict[str, object] = {}
    if shift_card is not None:
        extra["shifts"] = shift_card.model_dump(mode="json")
    if municipal is not None and with_sweep:
        extra["sweep"] = _sweep(
            context, paths, events, rates, municipal, scored, _budgets(budgets), target
        )
    seconds = time.perf_counter() - started
    _write(target, _document(card, result, paths, events_path, yoy_threshold, seconds) | extra)
    console.print(f"Scorecard written to [bold]{target}[/bold] ({seconds:.1f} s in all)")


def _budgets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(
            f"expected numbers like 1,2,5, got {text!r}", param_hint="--budgets"
        ) from None
    if not values or any(not 0 < v <= 100 for v in values):
        raise click.BadParameter("budgets must be between 0 and 100", param_hint="--budgets")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class _Municipal:
    """The data's municipal unemployment and its lasting shifts, labelled with hindsight."""

    shifts: list[Shift]
    municipalities: list[str]
    first: int
    last: int


def _municipal(rates: UnemploymentRates) -> _Municipal:
    counts = rates.unemployed()
    country = counts.get(COUNTRY)
    municipalities = {a: s for a, s in counts.items() if area_level(a) == "KU"}
    if country is None or not municipalities:
        raise click.ClickException(
            "--shifts and --sweep need the country's (SSS) and municipalities' (KU###) "
            "unemployed figures"
        )
    months = [p for series in municipalities.values() for p in series]
    return _Municipal(
        label_shifts(municipalities, country), sorted(municipalities), min(months), max(months)
    )


def _shift_card(
    municipal: _Municipal, result: ReplayResult, yoy: Sequence[Alarm]
) -> ShiftScorecard:
    """The lasting-shift yardstick over the data's municipalities (detectors and the rule)."""
    yoy_months: dict[AreaPolarity, set[int]] = {}
    for alarm in yoy:
        # Every month the rule fires is a fresh statement in the monthly review.
        yoy_months.setdefault((alarm.area, alarm.polarity), set()).update(alarm.live)
    return score_shifts(
        municipal.shifts,
        {DETECTORS: alarm_months(result.alerts), BASELINE: yoy_months},
        municipal.municipalities,
        municipal.first,
        municipal.last,
        covered={DETECTORS: covered_months(result.alerts)},
    )


def _print_shifts(card: ShiftScorecard, threshold: float) -> None:
    det, base = card.sources[DETECTORS], card.sources[BASELINE]
    table = Table(
        title=f"Lasting shifts in {card.areas} municipalities, labelled with hindsight "
        f"(false alarms {card.scored_from}…{card.scored_to})"
    )
    table.add_column("")
    table.add_column("detectors", justify="right")
    table.add_column(f"YoY rule (±{threshold:g} pp)", justify="right")

    def share(found: int, total: int) -> str:
        return f"{found / total:.0%} ({found}/{total})" if total else "–"

    table.add_row(
        "large shifts found",
        share(det.found_large.all, det.large.all),
        share(base.found_large.all, base.large.all),
    )
    table.add_row(
        "all shifts found",
        share(det.found.all, det.shifts.all),
        share(base.found.all, base.shifts.all),
    )
    for polarity in ("negative", "positive"):
        table.add_row(
            f"  {polarity}",
            share(getattr(det.found, polarity), getattr(det.shifts, polarity)),
            share(getattr(base.found, polarity), getattr(base.shifts, polarity)),
        )
    covered = det.recall_large_covered
    table.add_row(
        "large shifts found, incl. broader alerts",
        "–" if covered is None else f"{covered:.0%}",
        "–",
    )
    table.add_row(
        "median delay (months), large / all",
        f"{_delay(det.median_delay_large.all)} / {_delay(det.median_delay.all)}",
        f"{_delay(base.median_delay_large.all)} / {_delay(base.median_delay.all)}",
    )
    table.add_row(
        "false alarms / 100 municipality-years",
        f"{det.false_alarms_per_100_area_years:.2f} ({det.false_alarm_episodes})",
        f"{base.false_alarms_per_100_area_years:.2f} ({base.false_alarm_episodes})",
    )
    console.print(folding(table))


def _sweep(
    context: Context,
    paths: Sequence[Path],
    events: Sequence[LabelledEvent],
    rates: UnemploymentRates,
    municipal: _Municipal,
    scored: set[str],
    budgets: Sequence[float],
    target: Path,
) -> dict[str, object]:
    from tutka import sweep

    inputs = sweep.SweepInputs(
        paths=tuple(paths),
        hierarchy=context.hierarchy,
        catalogue=context.catalogue,
        events=tuple(events),
        shifts=tuple(municipal.shifts),
        municipalities=tuple(municipal.municipalities),
        first=municipal.first,
        last=municipal.last,
        scored_areas=tuple(sorted(scored)),
    )
    listed = ", ".join(f"{b:g}" for b in budgets)
    err.print(f"[dim]sweeping {len(budgets)} budgets ({listed})…[/dim]")
    points = sweep.sweep(inputs, rates, budgets)
    _print_sweep(points)
    large = sum(s.large for s in municipal.shifts)
    title = (
        f"{', '.join(p.name for p in paths)}: {len(municipal.municipalities)} municipalities, "
        f"{len(municipal.shifts)} lasting shifts ({large} large), {len(events)} events"
    )
    png = sweep.plot(points, target.with_name("sweep.png"), title)
    sweep.write_json(points, target.with_name("sweep.json"))
    console.print(f"Sweep: [bold]{png}[/bold] and {target.with_name('sweep.json')}")
    return {"png": str(png), "points": [asdict(p) for p in points]}


def _print_sweep(points: Sequence[sweep_types.SweepPoint]) -> None:
    table = Table(
        title="Recall and false alarms by false-alarm budget (and by the rule's threshold)"
    )
    for column in (
        "source",
        "setting",
        "large shifts",
        "all shifts",
        "delay (large)",
        "false alarms /100 mun.-years",
        "events",
        "events' false alarms",
        "alerts",
    ):
        table.add_column(column, justify="left" if column == "source" else "right")
    for p in points:
        setting = f"budget {p.setting:g}" if p.source == "detectors" else f"±{p.setting:g} pp"
        table.add_row(
            p.source,
            setting,
            f"{p.recall_large:.0%} ({p.large_found}/{p.large})",
            f"{p.recall:.0%} ({p.found}/{p.shifts})",
            _delay(p.median_delay_large),
            f"{p.false_alarms:.2f} ({p.false_alarm_episodes})",
            f"{p.events_found}/{p.events}",
            "–" if p.event_false_alarms is None else f"{p.event_false_alarms:.2f}",
            f"{p.alerts:,}",
        )
    console.print(folding(table))


def _shocks(texts: Sequence[str], none: bool) -> tuple[Shock, ...]:
    if none and texts:
        raise click.UsageError("--shock and --no-shocks exclude each other")
    if none:
        return ()
    try:
        return tuple(Shock.parse(text) for text in texts or DEFAULT_SHOCKS)
    except ValidationError as exc:
        message = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise click.BadParameter(message, param_hint="--shock") from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shock") from exc


def _read_events(path: Path, hierarchy: Hierarchy) -> tuple[LabelledEvent, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--events") from exc
    try:
        events = parse_events(text, hierarchy.areas)
    except EventsFileError as exc:
        raise click.BadParameter(f"{path} {exc}", param_hint="--events") from exc
    if not events:
        raise click.BadParameter(f"{path} lists no events", param_hint="--events")
    return events


def _read_rates(paths: Sequence[Path]) -> UnemploymentRates:
    """The baseline's figures, read on their own so the replay's memory stays its own."""
    rates = UnemploymentRates()
    for path in input_files(list(paths)):
        for record in read_records(path):
            rates.add(record.item)
    return rates


def _replay(context: Context, paths: Sequence[Path], quiet: bool) -> ReplayResult:
    def run(progress: ReplayProgress | None) -> ReplayResult:
        return replay(
            list(paths),
            context.hierarchy,
            context.catalogue,
            sector_names=context.sectors,
            progress=progress,
        )

    return with_replay_progress(run, err, quiet)


# -- printing --------------------------------------------------------------------------------------


def _print(card: Scorecard, result: ReplayResult, threshold: float, quiet: bool) -> None:
    det, base = card.summary[DETECTORS], card.summary[BASELINE]
    table = Table(title="Backtest: the detectors against the analysts' year-on-year rule")
    table.add_column("")
    table.add_column("detectors", justify="right")
    table.add_column(f"YoY rule (±{threshold:g} pp)", justify="right")
    for polarity in ("negative", "positive", "all"):
        table.add_row(f"recall, {polarity}", _recall(det, polarity), _recall(base, polarity))
    table.add_row(
        "recall, same area only",
        _ratio(det.recall_direct, det.detected_direct, det.pairs, "all"),
        _ratio(base.recall_direct, base.detected_direct, base.pairs, "all"),
    )
    table.add_row(
        "events detected",
        _ratio(det.event_recall, det.events_detected, det.events, "all"),
        _ratio(base.event_recall, base.events_detected, base.events, "all"),
    )
    for polarity in ("negative", "positive", "all"):
        table.add_row(
            f"median delay (months), {polarity}",
            _delay(getattr(det.median_delay_months, polarity)),
            _delay(getattr(base.median_delay_months, polarity)),
        )
    table.add_row(
        "median first delay of events (months)",
        _delay(det.event_median_delay_months.all),
        _delay(base.event_median_delay_months.all),
    )
    for polarity in ("negative", "positive"):
        table.add_row(
            f"false alarms / 100 area-years, {polarity}",
            _false(det.false_alarms[polarity]),
            _false(base.false_alarms[polarity]),
        )
    table.add_row("alarms (alerts / rule runs)", f"{det.alarms:,}", f"{base.alarms:,}")
    console.print(folding(table))
    _print_levels(card)
    if not quiet:
        _print_events(card)
    rate = result.observations / result.seconds if result.seconds > 0 else 0.0
    console.print(
        f"Data {card.data.first_period}…{card.data.last_period}, {card.data.areas} areas; "
        f"replayed {result.observations:,} observations in {result.seconds:.1f} s "
        f"({rate:,.0f} observations/s, peak memory {result.peak_rss_mb:,.0f} MiB), "
        f"{result.dead_letter_total:,} dead letters."
    )
    for line in (result.unknown_areas_line(), result.calibration_line()):
        if line is not None:
            console.print(line)


def _print_levels(card: Scorecard) -> None:
    table = Table(
        title="False alarms per 100 area-years (episodes), by area level and polarity (−/+)"
    )
    for column in ("level", "areas", "area-years", "detectors −", "detectors +", "YoY −", "YoY +"):
        table.add_column(column, justify="left" if column == "level" else "right")
    det, base = card.summary[DETECTORS], card.summary[BASELINE]
    for level in AREA_LEVELS:
        if level not in card.data.areas_by_level:
            continue
        cells = [
            _false(summary.false_alarms[polarity].by_level[level])
            for summary in (det, base)
            for polarity in ("negative", "positive")
        ]
        years = det.false_alarms["negative"].by_level[level].area_years
        table.add_row(
            LEVEL_NAMES[level], str(card.data.areas_by_level[level]), f"{years:,.0f}", *cells
        )
    console.print(folding(table))


def _print_events(card: Scorecard) -> None:
    table = Table(
        title="Events: regions detected (of which by an alarm on the region itself), "
        "first delay in months"
    )
    for column in ("event", "±", "reference", "regions", "detectors", "delay", "YoY", "delay"):
        table.add_column(column, justify="left" if column == "event" else "right")
    for row in card.events:
        cells = []
        for name in (DETECTORS, BASELINE):
            s = row.summary[name]
            cells += [f"{s.regions_detected} ({s.regions_detected_direct})", _delay(s.first_delay)]
        sign = "−" if row.polarity.value == "negative" else "+"
        table.add_row(row.event_id, sign, row.reference_month, str(len(row.regions)), *cells)
    console.print(folding(table))


def _recall(summary: Summary, polarity: str) -> str:
    return _ratio(summary.recall, summary.detected, summary.pairs, polarity)


def _ratio(share: PolarityFigure, hits: PolarityCount, total: PolarityCount, polarity: str) -> str:
    value = getattr(share, polarity)
    if value is None:
        return "–"
    return f"{value:.0%} ({getattr(hits, polarity)}/{getattr(total, polarity)})"


def _delay(months: float | None) -> str:
    if months is None:
        return "–"
    return f"{months:+g}"


def _false(rate: FalseAlarmRate) -> str:
    if rate.per_100_area_years is None:
        return "–"
    return f"{rate.per_100_area_years:.2f} ({rate.episodes})"


# -- the JSON document -----------------------------------------------------------------------------


def _document(
    card: Scorecard,
    result: ReplayResult,
    paths: Sequence[Path],
    events_path: Path,
    threshold: float,
    seconds: float,
) -> dict[str, object]:
    rate = result.observations / result.seconds if result.seconds > 0 else 0.0
    return {
        "inputs": [str(p) for p in paths],
        "events_file": str(events_path),
        "baselines": {BASELINE: {"threshold_pp": threshold}},
        "replay": {
            "records": result.records,
            "observations": result.observations,
            "dead_letters": result.dead_letter_total,
            "suppressed": result.suppressed,
            "alerts": len(result.latest()),
            "alert_versions": len(result.alerts),
            "seconds": round(result.seconds, 3),
            "observations_per_second": round(rate, 1),
            "peak_rss_mb": round(result.peak_rss_mb, 1),
        },
        "seconds": round(seconds, 3),
        **card.model_dump(mode="json"),
    }


def _write(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
