"""Draw an alert's evidence series: the values, what was expected, and the triggering period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
from matplotlib.dates import YearLocator

from tutka.expected import expected_line
from tutka.models.alerts import Alert
from tutka.models.codes import period_index, period_start, period_str
from tutka.streams.explain import MEASURES as _MEASURES

_TEXT: Final[dict[str, dict[str, str]]] = {
    "observed": {"fi": "havaittu", "sv": "observerat", "en": "observed"},
    "expected": {"fi": "sama kuukausi aiempina vuosina (mediaani)",
                 "sv": "samma månad tidigare år (median)",
                 "en": "same month in earlier years (median)"},
    "opened": {"fi": "hälytys avattu", "sv": "larmet öppnat", "en": "alert opened"},
    "signals": {"fi": "havainnot", "sv": "signaler", "en": "signals"},
    "detectors": {"fi": "tunnistimien odotus", "sv": "detektorernas förväntan",
                  "en": "what the detectors expected"},
    "resolved": {"fi": "päättynyt", "sv": "avslutat", "en": "resolved"},
    "negative": {"fi": "heikentävä", "sv": "negativ", "en": "negative"},
    "positive": {"fi": "myönteinen", "sv": "positiv", "en": "positive"},
    "watch": {"fi": "seuranta", "sv": "bevakning", "en": "watch"},
    "warning": {"fi": "varoitus", "sv": "varning", "en": "warning"},
    "critical": {"fi": "kriittinen", "sv": "kritisk", "en": "critical"},
    "notable": {"fi": "merkittävä", "sv": "betydande", "en": "notable"},
    "strong": {"fi": "vahva", "sv": "stark", "en": "strong"},
}  # fmt: skip


def _t(key: str, lang: str) -> str:
    return _TEXT[key].get(lang, _TEXT[key]["en"])


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
        label=_t("observed", lang),
    )
    base = sorted(expected)
    ax.plot(
        [_x(period_start(period_str(p))) for p in base],
        [expected[p] for p in base],
        color="#8c8c8c",
        linestyle="--",
        linewidth=1.2,
        label=_t("expected", lang),
    )
    ax.axvline(
        _x(period_start(period_str(opened))),
        color="#c0392b",
        linewidth=1.4,
        label=f"{_t('opened', lang)} {alert.opened_period}",
    )
    story = alert.story
    band = [m for m in story.footprint if period_index(m.period) in expected] if story else []
    if story is not None and band:
        # The notices' expected footprint over the same-month level: where the figures should be.
        ax.fill_between(
            [_x(period_start(m.period)) for m in band],
            [expected[period_index(m.period)] + m.low for m in band],
            [expected[period_index(m.period)] + m.high for m in band],
            color="#5b8fd6",
            alpha=0.25,
            label=f"expected from the notices ({story.status.value if story.status else '-'}, "
            f"{story.change_class.value})",
        )
    evidence = [e for e in alert.evidence if e.series == alert.evidence[-1].series]
    ax.scatter(
        [_x(period_start(e.period)) for e in evidence],
        [e.value for e in evidence],
        color="#c0392b",
        zorder=5,
        s=24,
        label=_t("signals", lang),
    )
    ax.scatter(
        [_x(period_start(e.period)) for e in evidence],
        [e.baseline for e in evidence],
        color="#c0392b",
        marker="x",
        zorder=5,
        s=24,
        label=_t("detectors", lang),
    )
    if alert.resolved_period:
        ax.axvline(
            _x(period_start(alert.resolved_period)),
            color="#27ae60",
            linewidth=1.2,
            linestyle=":",
            label=f"{_t('resolved', lang)} {alert.resolved_period}",
        )
    area = getattr(alert.area_name, lang)
    measure = _MEASURES[alert.kind][("fi", "sv", "en").index(lang)]
    ax.set_title(
        f"{measure} · {area} ({alert.area}) · "
        f"{_t(alert.polarity.value, lang)}, {_t(alert.severity.value, lang)}",
        fontsize=11,
    )
    ax.set_ylabel(measure)
    ax.xaxis.set_major_locator(YearLocator())  # type: ignore[no-untyped-call]
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
