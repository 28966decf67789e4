"""Backtest the detectors against the year-on-year rule on several synthetic markets.

    .venv/bin/python scripts/backtest_seeds.py     # development seeds 1-5, random scenario
    .venv/bin/python scripts/backtest_seeds.py --seeds 1 2 --out tutka-out/seeds

For each seed: ``tutka simulate`` (unless OUT/seed-N/data holds it already), then ``tutka
backtest`` against the market's own ``truth.csv``, each in its own process (so peak memory is per
run); then one table of the headline figures and their means.
``tutka.evaluation.seeds.EVALUATION_SEEDS`` are reserved for the final evaluation: they are refused
unless ``--evaluation`` says this is it, so tuning never sees them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tutka.evaluation.seeds import DEVELOPMENT_SEEDS, EVALUATION_SEEDS

DEFAULT_SEEDS = DEVELOPMENT_SEEDS[:5]
TUTKA = Path(sys.executable).with_name("tutka")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--out", type=Path, default=Path("tutka-out/backtest-seeds"))
    parser.add_argument("--evaluation", action="store_true", help="allow the reserved seeds")
    parser.add_argument("--yoy-threshold", type=float, default=1.0, help="the baseline's, in pp")
    parser.add_argument("--simulate", nargs=argparse.REMAINDER, default=["--scenario", "random"],
                        help="further `tutka simulate` options (put last)")  # fmt: skip
    args = parser.parse_args()
    reserved = sorted(set(args.seeds) & set(EVALUATION_SEEDS))
    if reserved and not args.evaluation:
        parser.error(f"seeds {reserved} are reserved for the evaluation (add --evaluation)")
    cards = {
        seed: backtest(seed, args.out / f"seed-{seed}", args.simulate, args.yoy_threshold)
        for seed in args.seeds
    }
    report(cards)


def backtest(seed: int, out: Path, simulate: list[str], threshold: float) -> dict[str, Any]:
    data, card = out / "data", out / "scorecard.json"
    if not (data / "truth.csv").exists():
        run([str(TUTKA), "simulate", str(data), "--seed", str(seed), *simulate])
    run([str(TUTKA), "backtest", str(data), "--events", str(data / "truth.csv"),
         "--json", str(card), "--yoy-threshold", str(threshold), "-q"])  # fmt: skip
    return json.loads(card.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def run(command: list[str]) -> None:
    print("$", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def report(cards: dict[int, dict[str, Any]]) -> None:
    rows = {
        "recall (pairs, covered)": lambda s: s["recall"]["all"],
        "recall, same area": lambda s: s["recall_direct"]["all"],
        "event recall": lambda s: s["event_recall"]["all"],
        "median delay (pairs)": lambda s: s["median_delay_months"]["all"],
        "median first delay (events)": lambda s: s["event_median_delay_months"]["all"],
        "false alarms /100 ay, neg": lambda s: s["false_alarms"]["negative"]["per_100_area_years"],
        "false alarms /100 ay, pos": lambda s: s["false_alarms"]["positive"]["per_100_area_years"],
        "  municipalities, neg": lambda s: s["false_alarms"]["negative"]["by_level"]["KU"][
            "per_100_area_years"
        ],
        "alarms": lambda s: s["alarms"],
    }
    threshold = next(iter(cards.values()))["baselines"]["yoy_rule"]["threshold_pp"]
    table = Table(title=f"Detectors | YoY rule (±{threshold:g} pp), per seed and mean")
    table.add_column("")
    for seed in cards:
        table.add_column(f"seed {seed}", justify="right")
    table.add_column("mean", justify="right")
    for name, value in rows.items():
        cells = []
        means = []
        for source in ("detectors", "yoy_rule"):
            values = [value(card["summary"][source]) for card in cards.values()]
            known = [v for v in values if v is not None]
            means.append(statistics.fmean(known) if known else None)
            cells.append(values)
        table.add_row(
            name,
            *(f"{fmt(d)} | {fmt(b)}" for d, b in zip(*cells, strict=True)),
            f"{fmt(means[0])} | {fmt(means[1])}",
        )
    replay = [card["replay"] for card in cards.values()]
    table.add_row(
        "observations/s, peak MiB",
        *(f"{r['observations_per_second']:,.0f}, {r['peak_rss_mb']:,.0f}" for r in replay),
        "",
    )
    Console(width=160).print(table)


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
