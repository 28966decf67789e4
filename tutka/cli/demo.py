"""``tutka demo``: a synthetic market through the pipeline, compared with what was injected."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from tutka.cli.context import load_context
from tutka.demo import run_demo

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@click.command("demo")
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
    context = load_context(ctx)
    target = out_dir or context.settings.output_dir / "demo"
    try:
        run_demo(context, target, seed, lang, start, end, console, err)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
