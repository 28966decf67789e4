"""The US real-data check: WARN notices + LAUS state unemployment through the same engine.

    .venv/bin/python scripts/us_warn_check.py [--data ../shared/data/us] [--json OUT]

Prints the per-state lead table for the 2001 and 2008 onsets (markdown, as in the README) and
the tracking share of noticed persons. See tutka/evaluation/us_warn.py for the definitions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from tutka.config.catalogue import load_catalogue
from tutka.evaluation import us_warn
from tutka.models.alerts import Alert
from tutka.streams.engine import Engine

FIRST, LAST = 1996, 2012


def run(data: Path) -> dict[str, Any]:
    """Replay the US data; the lead table, its summary and the tracking share."""
    nsa = us_warn.read_laus(data / "laus_state_month_nsa.csv.gz", FIRST, LAST)
    sa = us_warn.read_laus(data / "laus_state_month_sa.csv.gz", FIRST, LAST)
    states = {r.fips: r.name for r in nsa}
    notices = list(us_warn.read_warn(data / "warn", FIRST, LAST))
    first = us_warn.coverage(notices)
    events: list[Any] = [*us_warn.figures(nsa), *notices]
    events.sort(key=lambda e: (e.available_on, 0 if e.type == "layoff_notice" else 1))
    engine = Engine(us_warn.hierarchy(states), us_warn.catalogue(load_catalogue()))
    alerts = [o for o in engine.run(events) if isinstance(o, Alert)]
    table = us_warn.leads(alerts, first, states)
    share = us_warn.tracking_share(sa, notices, first, range(FIRST + 1, LAST + 1))
    summary = {}
    for onset in us_warn.ONSETS:
        rows = [r for r in table if r.onset == onset]
        known = [r.lead for r in rows if r.lead is not None]
        summary[onset] = {
            "states": len(rows),
            "compared": len(known),
            "notices_earlier": sum(1 for x in known if x > 0),
            "same_month": sum(1 for x in known if x == 0),
            "figures_earlier": sum(1 for x in known if x < 0),
            "median_lead": statistics.median(known) if known else None,
        }
    return {
        "notices": len(notices),
        "alerts": len(alerts),
        "table": [
            {
                "state": r.state,
                "onset": r.onset,
                "notice": r.notice_month,
                "notice_own": r.notice_own,
                "figure": r.figure_month,
                "figure_own": r.figure_own,
                "lead": r.lead,
            }
            for r in table
        ],
        "summary": summary,
        "share": {
            "share": share.share,
            "low": share.low,
            "high": share.high,
            "state_years": share.state_years,
            "states": share.states,
        },
    }


def _row(r: us_warn.Lead) -> dict[str, Any]:
    return {
        "state": r.state,
        "onset": r.onset,
        "notice": r.notice_month,
        "notice_own": r.notice_own,
        "figure": r.figure_month,
        "figure_own": r.figure_own,
        "lead": r.lead,
    }


def markdown(result: dict[str, Any]) -> str:
    """The lead table as the README shows it."""
    lines = [
        "| onset | state | notice-led alert | figure-led alert | lead (months) |",
        "|---|---|---|---|---:|",
    ]
    for r in result["table"]:

        def cell(month: str | None, own: bool) -> str:
            return "—" if month is None else month + ("" if own else " (national)")

        lead = "—" if r["lead"] is None else f"{r['lead']:+d}"
        notice, figure = cell(r["notice"], r["notice_own"]), cell(r["figure"], r["figure_own"])
        lines.append(f"| {r['onset']} | {r['state']} | {notice} | {figure} | {lead} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/us"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.data)
    print(markdown(result))
    print(json.dumps({k: result[k] for k in ("notices", "alerts", "summary", "share")}, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
