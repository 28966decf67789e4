"""``tutka`` — the Muutostutka command line.

The root group holds the global options and a table of where each subcommand lives; a
subcommand's module (and with it scikit-learn, faust, FastAPI, matplotlib …) is imported only
when that subcommand runs or shows its own help (:mod:`tutka.cli.lazy`). ``tutka --help``
imports click and nothing heavier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tutka.cli.lazy import LazyCommand, LazyGroup

#: Every subcommand of ``tutka``: where it is defined, and the line ``tutka --help`` shows.
COMMANDS: dict[str, LazyCommand] = {
    "alerts": LazyCommand("tutka.streaming:alerts_group", "Read alerts from Kafka."),
    "backtest": LazyCommand(
        "tutka.backtest:backtest_command",
        "Replay PATHS (anything `tutka replay` reads) and score the alerts against labelled "
        "events.",
    ),
    "demo": LazyCommand(
        "tutka.cli.demo:demo_command",
        "Generate a realistic synthetic labour market, find its structural changes, and report.",
    ),
    "fetch": LazyCommand(
        "tutka.cli.fetch:fetch_group",
        "Fetch live sources into the stream (incrementally, with revisions).",
    ),
    "nab": LazyCommand(
        "tutka.nab:nab_command",
        "Score our detector on the Numenta Anomaly Benchmark beside the published scoreboard.",
    ),
    "notices": LazyCommand(
        "tutka.cli.notices:notices_group",
        "Layoff notices: import the spreadsheets ELY centres keep; calibrate their footprint.",
    ),
    "publish": LazyCommand(
        "tutka.streaming:publish_command",
        "Send the files `tutka replay` reads to the input topics, in availability order.",
    ),
    "replay": LazyCommand(
        "tutka.cli.replay:replay_command", "Run the pipeline over files and report the alerts."
    ),
    "report": LazyCommand(
        "tutka.room.report_cli:report_command",
        "Write the monthly situation report (tilannekatsaus, lägesbild) as a PDF.",
    ),
    "room": LazyCommand(
        "tutka.room.cli:room_group",
        "The situation room: the live picture of open alerts, case work and subscriptions.",
    ),
    "simulate": LazyCommand(
        "tutka.cli.simulate:simulate_command",
        "Write a synthetic Finnish labour market with its ground truth to OUT_DIR.",
    ),
    "subscriptions": LazyCommand(
        "tutka.streaming:subscriptions_group",
        "Manage subscriptions (ELY centres subscribing to region × sector signals).",
    ),
    "worker": LazyCommand(
        "tutka.streaming:worker_command",
        "Run the pipeline continuously as a faust-streaming worker on Kafka.",
    ),
}

#: ``tutka bench …``: speed figures.
BENCH_COMMANDS: dict[str, LazyCommand] = {
    "all": LazyCommand(
        "tutka.bench_all:bench_all",
        "Issue 18's table in one run: replay, river, detectors, the 12ti file and Kafka.",
    ),
    "detectors": LazyCommand(
        "tutka.bench_detectors:bench_detectors",
        "Observations/s and state per series: reference detectors, banks and river, side by side.",
    ),
    "kafka": LazyCommand(
        "tutka.bench:bench_kafka",
        "Events/s and latency per release through Kafka, beside a no-op faust agent.",
    ),
    "replay": LazyCommand(
        "tutka.bench:bench_replay",
        "Observations/s and peak memory of `tutka replay` on a large synthetic market.",
    ),
    "report": LazyCommand(
        "tutka.room.report_cli:report_command",
        "Write the monthly situation report (tilannekatsaus, lägesbild) as a PDF.",
    ),
    "room": LazyCommand(
        "tutka.room.bench:bench_room",
        "API response times and new-alert-to-stream latency of the situation room.",
    ),
}

#: ``tutka dev …``: tooling for a development checkout, not for production.
DEV_COMMANDS: dict[str, LazyCommand] = {
    "kafka": LazyCommand(
        "tutka.dev.cli:kafka_group",
        "A local single-node Kafka broker (KRaft, 127.0.0.1 only) for development and tests.",
    ),
    "pxweb": LazyCommand(
        "tutka.dev.cli:pxweb_command",
        "A PxWeb-compatible server on 127.0.0.1 with tables built from Statistics Finland CSVs.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
    ctx.obj = (areas, catalogue)  # read by tutka.cli.context.global_options


cli.add_command(
    LazyGroup(
        "bench",
        lazy_subcommands=BENCH_COMMANDS,
        help="Measure speed (figures to report, never test assertions).",
    )
)
cli.add_command(
    LazyGroup(
        "dev",
        lazy_subcommands=DEV_COMMANDS,
        help="Developer tooling for a checkout of the repository (not for production).\n\n"
        "`tutka dev kafka` runs a local Kafka broker for the worker, `tutka bench kafka` and the "
        "integration tests.",
    )
)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


__all__ = ["cli", "main"]
