"""Footprint share and lag estimated on US WARN notices and LAUS state unemployment.

    .venv/bin/python scripts/us_footprint_fit.py [--data ../shared/data/us] [--export DIR]

Prints the estimates per notice kind (markdown, as in the README) and the catalogue snippet
``tutka notices calibrate`` would write; ``--export DIR`` also writes the notices and figures as
JSON lines (``notices.jsonl.gz``, ``figures.jsonl.gz``) so that the command itself can be run on
them. See tutka/streams/footprint_fit.py for the method and tutka/evaluation/us_warn.py for how
WARN and LAUS rows become notices and figures.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path
from typing import Any

from tutka.config.catalogue import load_catalogue
from tutka.evaluation import us_warn
from tutka.streams.footprint_fit import Fit, fit_footprints, snippet, table

FIRST, LAST = 1996, 2012


def run(data: Path, export: Path | None = None, draws: int = 200) -> Fit:
    """Read the US data (1996–2012) and estimate the footprint's share and lag per kind."""
    nsa = us_warn.read_laus(data / "laus_state_month_nsa.csv.gz", FIRST, LAST)
    notices = list(us_warn.read_warn(data / "warn", FIRST, LAST))
    figures = us_warn.figures(nsa)
    if export is not None:
        export.mkdir(parents=True, exist_ok=True)
        for name, events in (("notices", notices), ("figures", figures)):
            with gzip.open(export / f"{name}.jsonl.gz", "wt", encoding="utf-8") as handle:
                for event in events:
                    handle.write(event.model_dump_json() + "\n")
    return fit_footprints(notices, figures, load_catalogue().footprint, draws=draws)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/us"))
    parser.add_argument("--export", type=Path, default=None)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args(argv)
    fit = run(args.data, args.export, args.draws)
    print(table(fit))
    print()
    print(snippet(fit, load_catalogue().footprint), end="")
    return 0


def as_dict(fit: Fit) -> dict[str, Any]:
    """The estimates as JSON-safe data."""
    return {
        "cells": fit.cells,
        "areas": fit.areas,
        "r2": fit.r2,
        "kinds": {
            k.kind.value: {
                "notices": k.notices,
                "share": k.share,
                "share_low": k.share_low,
                "share_high": k.share_high,
                "lag": k.lag,
                "lag_low": k.lag_low,
                "lag_high": k.lag_high,
                "not_estimable": k.not_estimable,
            }
            for k in fit.kinds
        },
    }


if __name__ == "__main__":
    sys.exit(main())
