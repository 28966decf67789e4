"""Draw an alert's evidence series: the values, what was expected, and the triggering period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
from matplotlib.dates import YearLocator

from tutka.expected import expected_line
from tutka.models.alerts import Alert
from tutka.models.codes import period_index, period_start, period_str


def _x(day: date) -> Any:
    """A day as an x value of the date axis.

    Matplotlib converts dates itself (its units registry sets up the date axis), but its type
    stubs describe x values as numbers only; this is the one place that says so.
    """
    return day


def plot_evidence(alert: Alert, values: Mapping[int, float], path: Path, lang: str = "en") -> Path:
    """Write a PNG (or SVG, by suffix) of the alert's headline series around its periods."""
    if not values:
        raise ValueError(f"no values to plot for alert {alert.id}")
    expected = expected_line(values)
    opened = period_index(alert.opened_period)
    # Four years before the alert and two after: enough to see the normal and the change.
    periods = [p for p in sorted(values) if opened - 48 <= p <= opened + 24]
    expected = {p: v for p, v in expected.items() if opened - 48 <= p <= opened + 24}
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    ax.plot(
        [_x(period_start(period_str(p))) for p in periods],
        [values[p] for p in periods],
        color="#1f4e79",
        linewidth=1.8,
        label="observed",
    )
    base = sorted(expected)
    ax.plot(
        [_x(period_start(period_str(p))) for p in base],
        [expected[p] for p in base],
        color="#8c8c8c",
        linestyle="--",
        linewidth=1.2,
        label="same month in earlier years (median)",
    )
    ax.axvline(
        _x(period_start(period_str(opened))),
        color="#c0392b",
        linewidth=1.4,
        label=f"alert opened {alert.opened_period}",
    )
    evidence = [e for e in alert.evidence if e.series == alert.evidence[-1].series]
    ax.scatter(
        [_x(period_start(e.period)) for e in evidence],
        [e.value for e in evidence],
        color="#c0392b",
        zorder=5,
        s=24,
        label="signals",
    )
    ax.scatter(
        [_x(period_start(e.period)) for e in evidence],
        [e.baseline for e in evidence],
        color="#c0392b",
        marker="x",
        zorder=5,
        s=24,
        label="what the detectors expected",
    )
    if alert.resolved_period:
        ax.axvline(
            _x(period_start(alert.resolved_period)),
            color="#27ae60",
            linewidth=1.2,
            linestyle=":",
            label=f"resolved {alert.resolved_period}",
        )
    area = getattr(alert.area_name, lang)
    ax.set_title(
        f"{alert.kind.value.replace('_', ' ')} · {area} ({alert.area}) · "
        f"{alert.polarity.value}, {alert.severity.value}",
        fontsize=11,
    )
    ax.set_ylabel(alert.evidence[-1].measure.replace("_", " ") if alert.evidence else "value")
    ax.xaxis.set_major_locator(YearLocator())  # type: ignore[no-untyped-call]
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
