"""``tutka report``: the monthly situation report as a PDF, from files or the demo's market.

The same report the room serves at ``/api/report.pdf`` (:mod:`tutka.room.briefing`,
:mod:`tutka.room.pdf`), for the whole country or a filtered view, without a server: the files go
through the in-process pipeline first. It lives beside the room (not in :mod:`tutka.cli`) because
it is the room's report, and the room already imports the CLI's context.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from tutka.cli.context import load_context
from tutka.models.access import Principal
from tutka.models.alerts import AlertKind, Polarity, Severity
from tutka.room.options import pipeline_sources
from tutka.streams.explain import Lang
from tutka.streams.picture import StatusFilter, View

_STATUSES: dict[str, StatusFilter] = {"open": "open", "resolved": "resolved", "all": "all"}

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@click.command("report")
@pipeline_sources
@click.option(
    "--lang", type=click.Choice(["fi", "sv", "en"]), default="fi", show_default=True,
    help="Language of the report.",
)  # fmt: skip
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the PDF (default: TUTKA_OUTPUT_DIR/muutostutka-<report>-<month>.pdf).",
)
@click.option("--area", help="Area code: everything under it (ELY15, MK19, KU091…).")
@click.option("--sector", help="TOL 2008 section or code.")
@click.option("--occupation", help="ISCO-08 code (prefix).")
@click.option("--kind", type=click.Choice([k.value for k in AlertKind]))
@click.option("--polarity", type=click.Choice([p.value for p in Polarity]))
@click.option("--min-severity", type=click.Choice([s.value for s in Severity]))
@click.option(
    "--status", type=click.Choice(["open", "resolved", "all"]), default="open", show_default=True
)
@click.option(
    "--sections", type=click.IntRange(0, 50), default=12, show_default=True,
    help="Alerts with a page of their own (the table lists more).",
)  # fmt: skip
@click.pass_context
def report_command(
    ctx: click.Context,
    demo: bool,
    replay_paths: tuple[Path, ...],
    seed: int,
    lang: Lang,
    out: Path | None,
    area: str | None,
    sector: str | None,
    occupation: str | None,
    kind: str | None,
    polarity: str | None,
    min_severity: str | None,
    status: str,
    sections: int,
) -> None:
    """Write the monthly situation report (tilannekatsaus, lägesbild) as a PDF.

    Exactly one source: --demo or --replay PATH…. The report holds the map, the largest changes
    and a page per alert with its explanation and evidence chart, as the room's "PDF" button
    makes it (the filters are the room's too).
    """
    from tutka.replay import replay
    from tutka.room.briefing import briefing_of
    from tutka.room.pdf import region_codes, render
    from tutka.room.service import demo_inputs
    from tutka.room.state import RoomState, Status

    if demo == bool(replay_paths):
        raise click.UsageError("choose exactly one source: --demo or --replay PATH")
    context = load_context(ctx)
    world = context.synthetic_world if demo else context.hierarchy
    if area is not None and area not in world:
        raise click.BadParameter(f"{area} is not in the area hierarchy", param_hint="--area")
    if demo:
        paths = demo_inputs(context.settings.output_dir / "report-demo", seed, world)()
        source = f"demo (seed {seed})"
    else:
        paths = list(replay_paths)
        source = ", ".join(str(p) for p in replay_paths)
    state = RoomState(world, Status(mode="embedded", source=source))
    err.print(f"[dim]{source}: running the pipeline …[/dim]")
    result = replay(
        paths, world, context.catalogue, context.sectors, on_event=state.observe,
        on_alert=state.add_alert,
    )  # fmt: skip
    if result.all_rejected:
        raise click.ClickException(f"every one of the {result.records:,} records was rejected")
    view = View(
        area=area, sector=sector, occupation=occupation,
        kind=None if kind is None else AlertKind(kind),
        polarity=None if polarity is None else Polarity(polarity),
        min_severity=None if min_severity is None else Severity(min_severity),
        status=_STATUSES[status],
    )  # fmt: skip
    reader = Principal(name="tutka report", role="viewer")
    briefing = briefing_of(
        state, context.sectors, reader, view, lang, region_codes(), datetime.now(UTC).date(),
        sections,
    )  # fmt: skip
    target = out or context.settings.output_dir / briefing.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render(briefing))
    console.print(
        f"{len(briefing.alerts):,} alerts, {min(sections, len(briefing.alerts))} with a page: "
        f"[bold]{target}[/bold]"
    )
