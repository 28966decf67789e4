"""``tutka simulate``: a synthetic labour market and its ground truth (:mod:`tutka.synthetic`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.console import Console

from tutka.cli.context import global_options, load_context
from tutka.memory import peak_rss_mb
from tutka.synthetic import plan, synthetic_hierarchy, write_plan

console = Console(highlight=False)


@click.command("simulate")
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
    context = load_context(ctx)
    if municipalities is not None and global_options(ctx)[0] is not None:
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
        f"{time.perf_counter() - started:.1f} s (peak memory {peak_rss_mb():,.0f} MiB):"
    )
    for file in files:
        console.print(f"  {file}")
