"""Footprint parameters from data: how many noticed persons reach the register, and when.

Where both layoff notices and monthly figures exist for the same areas, the ``share`` and ``lag``
of each notice kind's footprint (``[footprint.kinds.<kind>]``) can be estimated instead of
assumed. The footprint's *shape* (spread, half-life, duration) stays the catalogue's; the share
and the lag are fitted:

- ``F[k][a, t]``: the unit footprint of kind ``k`` in area ``a`` in month ``t`` — the catalogue's
  shape with share 1 and lag 0, summed over the area's notices of that kind (persons);
- ``y[a, t] = U[a, t] - U[a, t - 12]``: the figures' change on a year before (the season
  cancels; no seasonal model is needed);
- ``x[k, L][a, t] = F[k][a, t - L] - F[k][a, t - 12 - L]``: the same change of the footprint,
  ``L`` months later;
- ``y = Σ_k share_k · x[k, L_k] + month effect + error``. Month effects (every area's
  ``y`` and ``x`` demeaned within each month) take out the national cycle, so what is left is
  "areas with more notices than others that month rose more than others".

The lags are chosen on a grid ``0..max_lag`` by least squares (coordinate descent over kinds,
each kind's lag in turn until none changes), the shares by least squares at those lags. The
intervals are the 5th and 95th percentiles over bootstrap resamples of *areas* (an area's months
are not independent), with the lags chosen anew in each resample. A kind with fewer than
``min_notices`` notices or in fewer than ``min_areas`` areas is *not estimable* and left out of
the regression (said so, with its counts). Only area-months whose notices are known from at least
``burn_in`` months before the longest lag are used: an archive that starts later would look like
a wave of notices.

Pure: numpy over in-memory events; the CLI (``tutka notices calibrate``) reads the files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from tutka.config.catalogue import FootprintRules, KindFootprint
from tutka.models.codes import period_index, period_str
from tutka.models.events import LayoffNoticeFiled, NoticeKind, UnemploymentReported
from tutka.streams.stories import footprint

Array = NDArray[np.float64]

#: Bootstrap percentiles of the reported interval (a 90 % interval).
INTERVAL: Final = (5.0, 95.0)
#: Coordinate-descent passes over the kinds' lags at most (it settles in two or three).
MAX_PASSES: Final = 6


@dataclass(frozen=True, slots=True)
class KindEstimate:
    """One notice kind's estimated share and lag, or why they cannot be estimated."""

    kind: NoticeKind
    notices: int
    persons: int
    areas: int
    #: Empty when estimated; otherwise why not (counts and the minimum).
    not_estimable: str = ""
    share: float | None = None
    share_low: float | None = None
    share_high: float | None = None
    lag: int | None = None
    lag_low: int | None = None
    lag_high: int | None = None

    @property
    def estimable(self) -> bool:
        """Whether the data sufficed to estimate this kind."""
        return not self.not_estimable


@dataclass(frozen=True, slots=True)
class Fit:
    """Every kind's estimate and what the regression ran on."""

    kinds: tuple[KindEstimate, ...]
    #: Area-months in the regression, the areas they cover and their first and last month.
    cells: int
    areas: int
    first: str
    last: str
    #: Share of the within-month variance of ``y`` the notices explain at the chosen lags.
    r2: float
    draws: int
    max_lag: int
    measure: str


@dataclass(frozen=True, slots=True)
class _Cells:
    """The regression's rows: area, month, y and, per kind and lag, x (demeaned later)."""

    area: NDArray[np.int64]
    month: NDArray[np.int64]
    y: Array
    #: ``x[k]`` has one column per lag 0..max_lag.
    x: tuple[Array, ...]


def fit_footprints(
    notices: Iterable[LayoffNoticeFiled],
    figures: Iterable[UnemploymentReported],
    rules: FootprintRules,
    *,
    measure: str = "unemployed_jobseekers",
    max_lag: int = 6,
    draws: int = 200,
    seed: int = 17,
    min_notices: int = 50,
    min_areas: int = 5,
    burn_in: int = 12,
) -> Fit:
    """Estimate each notice kind's share and lag from notices and figures of the same areas.

    Raises ``ValueError`` when no area has both notices and enough months of figures.

    >>> from datetime import date
    >>> from tutka.config.catalogue import FootprintRules
    >>> from tutka.models.events import LayoffNoticeFiled, UnemploymentReported
    >>> rules = FootprintRules()
    >>> rng = np.random.default_rng(1)
    >>> notices, level = [], {}
    >>> for a in range(8):
    ...     for m in range(0, 96, 3):
    ...         persons = int(rng.integers(20, 400))
    ...         notices.append(LayoffNoticeFiled(
    ...             notice_id=f"n{a}-{m}", employer="X Oy", business_id="0112038-9",
    ...             municipality=f"KU{a:03d}", sector="17", kind="dismissal", persons=persons,
    ...             announced=date(2010 + m // 12, m % 12 + 1, 1),
    ...             effective_from=date(2010 + m // 12, m % 12 + 1, 1)))
    >>> # Half of the persons arrive two months late: the stock from two months before.
    >>> stock = _stock(notices, rules.kinds, [f"KU{a:03d}" for a in range(8)], 2010 * 12 - 2,
    ...                96, rules.horizon)[NoticeKind.DISMISSAL]
    >>> figures = [UnemploymentReported(area=f"KU{a:03d}", measure="unemployed_jobseekers",
    ...     period=period_str(2010 * 12 + t), published=date(2020, 1, 1),
    ...     value=round(5000 + 0.5 * stock[a, t] + rng.normal(0, 20)))
    ...     for a in range(8) for t in range(96)]
    >>> fit = fit_footprints(notices, figures, rules, draws=50, min_areas=4)
    >>> est = fit.kinds[0]
    >>> est.kind.value, est.lag, round(est.share, 1), est.share_high - est.share_low < 0.05
    ('dismissal', 2, 0.5, True)
    >>> [k.kind.value for k in fit.kinds if not k.estimable]
    ['temporary_layoff', 'part_time_layoff', 'closure']
    """
    values = _values(figures, measure)
    by_kind: dict[NoticeKind, list[LayoffNoticeFiled]] = defaultdict(list)
    covered: dict[str, int] = {}
    figure_areas = {area for area, _ in values}
    for notice in notices:
        if notice.municipality not in figure_areas:
            continue
        by_kind[notice.kind].append(notice)
        month = period_index(notice.period)
        covered[notice.municipality] = min(covered.get(notice.municipality, month), month)
    areas = sorted(covered)
    if not areas:
        raise ValueError(f"no area has both notices and figures of {measure}")
    months = [m for _, m in values]
    base = min(months) - 12 - max_lag
    length = max(months) - base + 1
    estimable, reasons = _estimable(by_kind, rules, min_notices, min_areas)
    stock = _stock(
        [n for k in estimable for n in by_kind[k]], rules.kinds, areas, base, length, rules.horizon
    )
    cells = _cells(values, areas, covered, stock, estimable, base, max_lag, burn_in)
    if cells.y.size == 0:
        raise ValueError(
            f"no area-month has figures a year before and notices {burn_in} months before that"
        )
    counts = np.ones(len(areas))
    lags, shares, r2 = _fit(cells, counts, max_lag)
    rng = np.random.default_rng(seed)
    boot_shares, boot_lags = [], []
    for _ in range(draws):
        sample = np.bincount(rng.integers(0, len(areas), len(areas)), minlength=len(areas))
        b_lags, b_shares, _ = _fit(cells, sample.astype(np.float64), max_lag)
        boot_lags.append(b_lags)
        boot_shares.append(b_shares)
    out = []
    for kind in NoticeKind:
        mine = by_kind.get(kind, [])
        counted = {
            "kind": kind,
            "notices": len(mine),
            "persons": sum(n.persons for n in mine),
            "areas": len({n.municipality for n in mine}),
        }
        if kind not in estimable:
            out.append(KindEstimate(**counted, not_estimable=reasons[kind]))  # type: ignore[arg-type]
            continue
        i = estimable.index(kind)
        s_low, s_high = _interval([s[i] for s in boot_shares], shares[i])
        l_low, l_high = _interval([float(lg[i]) for lg in boot_lags], float(lags[i]))
        out.append(
            KindEstimate(
                **counted,  # type: ignore[arg-type]
                share=float(shares[i]),
                share_low=s_low,
                share_high=s_high,
                lag=int(lags[i]),
                lag_low=round(l_low),
                lag_high=round(l_high),
            )
        )
    used = np.unique(cells.area)
    return Fit(
        kinds=tuple(out),
        cells=int(cells.y.size),
        areas=int(used.size),
        first=period_str(int(cells.month.min()) + base),
        last=period_str(int(cells.month.max()) + base),
        r2=r2,
        draws=draws,
        max_lag=max_lag,
        measure=measure,
    )


def _values(
    figures: Iterable[UnemploymentReported], measure: str
) -> dict[tuple[str, int], tuple[int, float]]:
    """(revision, value) by (area, month) of ``measure``: the latest revision of each."""
    values: dict[tuple[str, int], tuple[int, float]] = {}
    for fig in figures:
        if fig.measure != measure:
            continue
        key = (fig.area, period_index(fig.period))
        old = values.get(key)
        if old is None or fig.revision >= old[0]:
            values[key] = (fig.revision, fig.value)
    return values


def _estimable(
    by_kind: dict[NoticeKind, list[LayoffNoticeFiled]],
    rules: FootprintRules,
    min_notices: int,
    min_areas: int,
) -> tuple[list[NoticeKind], dict[NoticeKind, str]]:
    estimable, reasons = [], {}
    for kind in NoticeKind:
        mine = by_kind.get(kind, [])
        n_areas = len({n.municipality for n in mine})
        if kind not in rules.kinds:
            reasons[kind] = "no footprint rule in the catalogue"
        elif len(mine) < min_notices or n_areas < min_areas:
            reasons[kind] = (
                f"{len(mine)} notices in {n_areas} areas; needs {min_notices} in {min_areas}"
            )
        else:
            estimable.append(kind)
    return estimable, reasons


def _unit(kind: KindFootprint) -> KindFootprint:
    return kind.model_copy(update={"share": 1.0, "lag": 0})


def _stock(
    notices: Iterable[LayoffNoticeFiled],
    kinds: dict[NoticeKind, KindFootprint],
    areas: Sequence[str],
    base: int,
    length: int,
    horizon: int,
) -> dict[NoticeKind, Array]:
    """Per kind, persons expected in the register by area and month (share 1, lag 0)."""
    index = {area: i for i, area in enumerate(areas)}
    out: dict[NoticeKind, Array] = {}
    shapes: dict[tuple[NoticeKind, int | None], tuple[float, ...]] = {}
    for notice in notices:
        stock = out.setdefault(notice.kind, np.zeros((len(areas), length)))
        effective = period_index(f"{notice.effective_from:%Y-%m}")
        until = None
        if notice.effective_to is not None:
            until = period_index(f"{notice.effective_to:%Y-%m}") - effective
        key = (notice.kind, until)
        shape = shapes.get(key)
        if shape is None:
            unit = _unit(kinds[notice.kind])
            shape = shapes[key] = footprint(unit, 1, 0, until, horizon)[1]
        start = effective - base
        lo, hi = max(start, 0), min(start + len(shape), length)
        if lo < hi:
            stock[index[notice.municipality], lo:hi] += notice.persons * np.asarray(
                shape[lo - start : hi - start]
            )
    return out


def _cells(
    values: dict[tuple[str, int], tuple[int, float]],
    areas: Sequence[str],
    covered: dict[str, int],
    stock: dict[NoticeKind, Array],
    kinds: Sequence[NoticeKind],
    base: int,
    max_lag: int,
    burn_in: int,
) -> _Cells:
    rows: list[tuple[int, int, float]] = []
    index = {area: i for i, area in enumerate(areas)}
    for (area, month), (_, value) in values.items():
        a = index.get(area)
        if a is None or month - 12 - max_lag < covered[area] + burn_in:
            continue
        before = values.get((area, month - 12))
        if before is not None:
            rows.append((a, month - base, value - before[1]))
    rows.sort()
    at = np.array([r[0] for r in rows], dtype=np.int64)
    when = np.array([r[1] for r in rows], dtype=np.int64)
    x = []
    for kind in kinds:
        f = stock.get(kind)
        cols = np.zeros((len(rows), max_lag + 1))
        if f is not None:
            for lag in range(max_lag + 1):
                cols[:, lag] = f[at, when - lag] - f[at, when - 12 - lag]
        x.append(cols)
    return _Cells(at, when, np.array([r[2] for r in rows], dtype=np.float64), tuple(x))


def _demeaned(values: Array, month: NDArray[np.int64], w: Array) -> Array:
    """``values`` (rows, or rows x columns) minus their weighted mean within each month."""
    total = np.bincount(month, weights=w)
    safe = np.where(total > 0, total, 1.0)
    if values.ndim == 1:
        return values - (np.bincount(month, weights=w * values) / safe)[month]
    means = np.stack(
        [np.bincount(month, weights=w * values[:, j]) / safe for j in range(values.shape[1])],
        axis=1,
    )
    return values - means[month]


def _fit(cells: _Cells, counts: Array, max_lag: int) -> tuple[list[int], Array, float]:
    """Lags (coordinate descent), shares at them and the within-month R², areas weighted."""
    w = counts[cells.area]
    y = _demeaned(cells.y, cells.month, w)
    k = len(cells.x)
    width = max_lag + 1
    if k == 0:
        return [], np.zeros(0), 0.0
    d = _demeaned(np.concatenate(cells.x, axis=1), cells.month, w)
    gram = d.T @ (d * w[:, None])
    cross = d.T @ (w * y)
    yy = float(y @ (w * y))

    def solve(lags: Sequence[int]) -> tuple[float, Array]:
        cols = [i * width + lag for i, lag in enumerate(lags)]
        g = gram[np.ix_(cols, cols)]
        c = cross[cols]
        beta: Array = np.linalg.lstsq(g, c, rcond=None)[0].astype(np.float64)
        return yy - float(beta @ c), beta

    lags = [0] * k
    best, beta = solve(lags)
    for _ in range(MAX_PASSES):
        changed = False
        for i in range(k):
            for lag in range(width):
                trial = [*lags[:i], lag, *lags[i + 1 :]]
                sse, b = solve(trial)
                if sse < best - 1e-9 * max(yy, 1.0):
                    best, beta, lags, changed = sse, b, trial, True
        if not changed:
            break
    return lags, beta, 1.0 - best / yy if yy > 0 else 0.0


def _interval(draws: Sequence[float], point: float) -> tuple[float, float]:
    if not draws:
        return point, point
    low, high = np.percentile(np.asarray(draws), INTERVAL)
    return float(low), float(high)


def table(fit: Fit) -> str:
    """The estimates as a markdown table (as in the README)."""
    lines = [
        "| kind | notices | persons | areas | share (90 % interval) "
        "| lag, months (90 % interval) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for k in fit.kinds:
        if not k.estimable:
            lines.append(
                f"| {k.kind.value} | {k.notices:,} | {k.persons:,} | {k.areas} | "
                f"not estimable: {k.not_estimable} | — |"
            )
            continue
        lines.append(
            f"| {k.kind.value} | {k.notices:,} | {k.persons:,} | {k.areas} | "
            f"{k.share:.2f} ({k.share_low:.2f}–{k.share_high:.2f}) | "
            f"{k.lag} ({k.lag_low}–{k.lag_high}) |"
        )
    lines.append(
        f"\n{fit.cells:,} area-months in {fit.areas} areas, {fit.first}…{fit.last}; "
        f"year-on-year change of {fit.measure}, month effects removed; within-month R² "
        f"{fit.r2:.3f}; lags 0–{fit.max_lag}; intervals over {fit.draws} bootstrap resamples of "
        "areas."
    )
    return "\n".join(lines)


def snippet(fit: Fit, rules: FootprintRules) -> str:
    """A ``[footprint.kinds.*]`` catalogue snippet with the estimates (review before use).

    Every kind of the catalogue gets its table (a ``[footprint.kinds]`` section replaces all
    of them). Shares outside the catalogue's 0..1 are clipped and say so; a kind not estimable,
    or whose share's interval reaches 0 (the data cannot tell it from no effect), keeps the
    catalogue's values and says why.
    """
    lines = [
        f"# Footprint estimates: {fit.cells:,} area-months in {fit.areas} areas, "
        f"{fit.first}..{fit.last}",
        "# (tutka notices calibrate: year-on-year change of "
        f"{fit.measure} on the lagged footprint, month",
        f"# effects removed; 90 % intervals over {fit.draws} bootstrap resamples of areas).",
        "# Shape (spread, half_life, duration) as in the catalogue; review before use.",
    ]
    for k in fit.kinds:
        kind = rules.kinds.get(k.kind)
        if kind is None:
            continue
        share, lag = f"{kind.share}", f"{kind.lag}"
        if not k.estimable or k.share is None or k.share_low is None:
            share += f"  # not estimable ({k.not_estimable}); default kept"
        elif k.share_low <= 0:
            share += (
                f"  # too imprecise: estimated {k.share:.2f} ({k.share_low:.2f}–"
                f"{k.share_high:.2f}) reaches 0; default kept"
            )
            lag += f"  # estimated {k.lag} ({k.lag_low}–{k.lag_high}); default kept"
        else:
            value = min(max(k.share, 0.0), 1.0)
            clipped = "" if value == k.share else ", clipped to the catalogue's 0..1"
            share = (
                f"{value:.2f}  # estimated {k.share:.2f} ({k.share_low:.2f}–"
                f"{k.share_high:.2f}){clipped}; default {kind.share}"
            )
            lag = f"{k.lag}  # estimated {k.lag} ({k.lag_low}–{k.lag_high}); default {kind.lag}"
        lines += [
            f"\n[footprint.kinds.{k.kind.value}]",
            f"share = {share}",
            f"lag = {lag}",
            f"spread = {kind.spread}",
            f"half_life = {kind.half_life}",
            f"duration = {kind.duration}",
            f"permanent = {'true' if kind.permanent else 'false'}",
        ]
    return "\n".join(lines) + "\n"
