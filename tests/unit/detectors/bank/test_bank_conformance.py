"""Every detector bank against its per-observation reference: the same alarms and scores.

A bank runs a release at a time over the series that have a value in it (series appear and
are removed as they start and end; a removed series' row goes to the next new one); the
reference runs each series on its own. The stated tolerance:

* float64 banks: alarms and readiness identical; scores and baselines equal to ``REL``
  (relative) + ``ABS`` (absolute) — the difference is the order of floating-point sums and
  numpy's own ``log``/``exp``; directions identical where the score is above ``ABS`` and the
  value differs from the baseline by more than that (at a zero score or a zero residual the
  direction is the sign of a number that is zero up to rounding: BOCPD scores 3.0 against a
  baseline of 3.000000000000001 with a high score, found by hypothesis);
* float32 banks: alarms and readiness identical on the demo's and 12r5's series; scores within
  ``SCORE32`` (``relative_shift``: 1e-4, ``SCORE32_OF``) and baselines within ``BASELINE32``
  (relative); directions identical except where the score is below ``ABS32`` or the value
  equals the baseline to ``BASELINE32`` (a zero deviation has no sign in float32).

On the demo, 12r5 and random streams (hypothesis), for every banked detector. ``relative_shift``
takes a pair per observation (``RelativePoint``: the area's count and the country's): its series
are the demo's and 12r5's sub-national ones (12r5: the 259 municipalities' development file), each
with the country's figure of the same measure (and breakdown) and month as the reference, and
random streams of pairs (a random country series, zero at times, and areas within it).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping
from functools import cache
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.shared_data import SHARED_FI
from tutka.detectors.bank.base import Keyed
from tutka.detectors.bank.registry import BANKS, create
from tutka.detectors.base import DetectorParams, json_roundtrip
from tutka.detectors.bocpd import BOCPDParams
from tutka.detectors.cusum import CUSUMParams
from tutka.detectors.relative_shift import RelativePoint, RelativeShiftParams
from tutka.detectors.seasonal_baseline import SeasonalBaselineParams
from tutka.models.codes import period_index

REL, ABS = 1e-9, 1e-9
ABS32, SCORE32, BASELINE32 = 1e-6, 0.01, 1e-4
#: A tighter float32 score tolerance where a bank allows one: relative_shift keeps its log
#: shares in float64 and stores only deviations and differences in float32 (found: 9e-6).
SCORE32_OF = {"relative_shift": 1e-4}

TABLE_12R5 = SHARED_FI / "tyonv_12r5_regions.csv"
MUNICIPAL_12R5 = SHARED_FI / "tyonv_12r5_municipalities_dev.csv"

#: Every banked detector with the hyperparameters the catalogue runs it with (its thresholds;
#: CUSUM on a ratio too, as for tightness).
PARAMS: dict[str, list[DetectorParams]] = {
    "bocpd": [BOCPDParams()],
    "cusum": [
        CUSUMParams(threshold=6.0),
        CUSUMParams(threshold=6.0, count_noise=False, offset=0.001),
    ],
    "relative_shift": [RelativeShiftParams()],
    "seasonal_baseline": [SeasonalBaselineParams(threshold=3.5)],
}
CASES = [
    pytest.param(name, params, id=f"{name}-{i}")
    for name in sorted(BANKS)
    for i, params in enumerate(PARAMS[name])
]
#: For random streams also hyperparameters that reach other branches: runs longer than a season
#: (replays that revisit a position), no protection, a short spread window, a long window.
RANDOM_CASES = [
    *CASES,
    pytest.param(
        "cusum",
        CUSUMParams(threshold=3.0, drift=0.5, adopt_window=30, protect=False, season=4, warmup=9),
        id="cusum-long-runs",
    ),
    pytest.param(
        "seasonal_baseline",
        SeasonalBaselineParams(
            threshold=2.5, years=2, spread_window=6, adopt_after=2, protect=False
        ),
        id="seasonal_baseline-short",
    ),
    pytest.param(
        "bocpd",
        BOCPDParams(threshold=0.5, window=5, max_run=8, count_noise=False, protect=False),
        id="bocpd-short-runs",
    ),
    pytest.param(
        "relative_shift",
        RelativeShiftParams(threshold=4.0, min_persons=20),
        id="relative_shift-material",
    ),
    pytest.param(
        "relative_shift",
        RelativeShiftParams(
            threshold=2.0,
            shortest_window=1,
            longest_window=4,
            baseline=4,
            season=4,
            seasonal_years=2,
            min_seasonal_years=2,
            scale_months=12,
            min_differences=3,
            min_persons=0,
            min_change=0,
        ),
        id="relative_shift-short",
    ),
]

Series = Mapping[Hashable, Mapping[int, float]] | Mapping[Hashable, Mapping[int, RelativePoint]]


class Out(NamedTuple):
    value: float
    score: float
    baseline: float
    direction: int
    ready: bool
    alarm: bool


def test_every_banked_detector_has_cases() -> None:
    assert set(PARAMS) == set(BANKS)


def count_of(x: float | RelativePoint) -> float:
    """The observation's count (a share detector's pair: the area's)."""
    return x.value if isinstance(x, RelativePoint) else x


def reference(name: str, params: DetectorParams, series: Series) -> dict[object, list[Out]]:
    out: dict[object, list[Out]] = {}
    for key, values in series.items():
        det = BANKS[name].reference(params)  # type: ignore[arg-type]
        found = []
        for period in sorted(values):
            ready = det.ready
            x = values[period]
            a, alarm = det.learn(x)
            found.append(Out(count_of(x), a.score, a.baseline, a.direction, ready, alarm))
        out[key] = found
    return out


def banked(
    name: str, params: DetectorParams, series: Series, dtype: type = np.float64
) -> dict[object, list[Out]]:
    """Release by release: the series with a value in each; a series is removed after its last."""
    keyed: Keyed[Hashable] = Keyed(create(name, params, dtype))
    last = {key: max(values) for key, values in series.items() if values}
    releases: dict[int, list[Hashable]] = defaultdict(list)
    for key, values in series.items():
        for period in values:
            releases[period].append(key)
    out: dict[object, list[Out]] = {key: [] for key in series}
    for period in sorted(releases):
        keys = releases[period]
        rows = np.array([keyed.add(key) for key in keys], dtype=np.int64)
        x = np.array([series[key][period] for key in keys])
        a = keyed.bank.learn(rows, x)  # type: ignore[attr-defined]
        for i, key in enumerate(keys):
            out[key].append(
                Out(count_of(series[key][period]), float(a.score[i]), float(a.baseline[i]),
                    int(a.direction[i]), bool(a.ready[i]), bool(a.alarm[i]))
            )  # fmt: skip
            if last[key] == period:
                keyed.remove(key)
    return out


def assert_conform(
    want: dict[object, list[Out]],
    got: dict[object, list[Out]],
    float32: bool = False,
    score32: float = SCORE32,
) -> None:
    assert want.keys() == got.keys()
    for key, expected in want.items():
        found = got[key]
        assert len(found) == len(expected)
        for t, (w, g) in enumerate(zip(expected, found, strict=True)):
            where = f"{key} at {t}: reference {w}, bank {g}"
            assert (g.alarm, g.ready) == (w.alarm, w.ready), where
            if float32:
                assert abs(g.score - w.score) <= score32, where
                assert math.isclose(g.baseline, w.baseline, rel_tol=BASELINE32, abs_tol=1e-3), where
                tie = math.isclose(w.value, w.baseline, rel_tol=BASELINE32, abs_tol=1e-3)
                assert g.direction == w.direction or w.score <= ABS32 or tie, where
            else:
                assert math.isclose(g.score, w.score, rel_tol=REL, abs_tol=ABS), where
                assert math.isclose(g.baseline, w.baseline, rel_tol=REL, abs_tol=ABS), where
                tie = math.isclose(w.value, w.baseline, rel_tol=REL, abs_tol=ABS)
                assert g.direction == w.direction or w.score <= ABS or tie, where


# -- the demo's and 12r5's series -----------------------------------------------------------------


@cache
def demo_series() -> dict[Hashable, dict[int, float]]:
    """Every figure series of the demo's synthetic market (1 050 series, 163 800 values)."""
    from tutka.models.events import LayoffNoticeFiled
    from tutka.synthetic import generate

    series: dict[Hashable, dict[int, float]] = defaultdict(dict)
    for e in generate(seed=7).events:
        if not isinstance(e, LayoffNoticeFiled):
            series[(e.area, e.measure, e.sector, e.occupation)][period_index(e.period)] = e.value
    return dict(series)


@cache
def table_12r5() -> dict[Hashable, dict[int, float]]:
    """Statistics Finland's table 12r5: regions, ELY areas and the country, 2006-01…2023-10."""
    series: dict[Hashable, dict[int, float]] = defaultdict(dict)
    with TABLE_12R5.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            series[(row["area"], row["measure"])][period_index(row["month"])] = float(row["value"])
    return dict(series)


def shares(series: Series) -> dict[Hashable, dict[int, RelativePoint]]:
    """The sub-national series (the key's first part the area) as pairs with the country's (SSS)
    figure of the rest of the key in the same month; a month the country lacks has a NaN one."""
    out: dict[Hashable, dict[int, RelativePoint]] = {}
    for key, values in series.items():
        assert isinstance(key, tuple)
        if key[0] == "SSS" or ("SSS", *key[1:]) not in series:
            continue
        country = series[("SSS", *key[1:])]
        out[key] = {p: RelativePoint(v, country.get(p, math.nan)) for p, v in values.items()}
    return out


@cache
def municipal_12r5() -> dict[Hashable, dict[int, float]]:
    """12r5's development file: 259 municipalities, their regions, ELY areas and the country."""
    series: dict[Hashable, dict[int, float]] = defaultdict(dict)
    with MUNICIPAL_12R5.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["value"] == "":  # suppressed: the month is missing
                continue
            series[(row["area"], row["measure"])][period_index(row["month"])] = float(row["value"])
    return dict(series)


def demo_input(name: str) -> Series:
    return shares(demo_series()) if name == "relative_shift" else demo_series()


def input_12r5(name: str) -> Series:
    return shares(municipal_12r5()) if name == "relative_shift" else table_12r5()


def has_alarms(results: dict[object, list[Out]]) -> int:
    return sum(o.alarm for found in results.values() for o in found)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "params"), CASES)
def test_demo_series(name: str, params: DetectorParams) -> None:
    series = demo_input(name)
    want = reference(name, params, series)
    assert has_alarms(want) > 50  # the comparison covers alarms and adoptions
    assert_conform(want, banked(name, params, series))
    float32 = banked(name, params, series, np.float32)
    assert_conform(want, float32, float32=True, score32=SCORE32_OF.get(name, SCORE32))


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(
    not (TABLE_12R5.exists() and MUNICIPAL_12R5.exists()),
    reason=f"shared data file {TABLE_12R5} or {MUNICIPAL_12R5} is absent",
)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_12r5_series(name: str, params: DetectorParams) -> None:
    series = input_12r5(name)
    want = reference(name, params, series)
    assert has_alarms(want) > 10
    assert_conform(want, banked(name, params, series))
    float32 = banked(name, params, series, np.float32)
    assert_conform(want, float32, float32=True, score32=SCORE32_OF.get(name, SCORE32))


# -- random streams -------------------------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn) -> dict[Hashable, dict[int, float]]:
    """A few series starting and ending at different months: seasonal counts with level shifts
    at every scale, or any counts at all."""
    series: dict[Hashable, dict[int, float]] = {}
    for i in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 30))
        length = draw(st.integers(0, 110))
        if draw(st.booleans()):
            values = draw(st.lists(st.integers(0, 10**6), min_size=length, max_size=length))
            xs = [float(v) for v in values]
        else:
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            level = draw(st.sampled_from([0.0, 0.4, 3.0, 40.0, 900.0, 40_000.0]))
            t = np.arange(length)
            lam = level * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
            for _ in range(draw(st.integers(0, 3))):
                at = draw(st.integers(0, max(length - 1, 0)))
                lam = lam * np.where(t >= at, draw(st.sampled_from([0.3, 0.8, 1.15, 1.5, 4.0])), 1)
            xs = [float(v) for v in rng.poisson(lam)]
        series[i] = {start + t: x for t, x in enumerate(xs)}
    return series


@st.composite
def share_streams(draw: st.DrawFn) -> dict[Hashable, dict[int, RelativePoint]]:
    """Areas' streams (as :func:`streams`) paired with a country's: seasonal, cyclical, with
    shifts of its own, at times zero or NaN (no share); now and then an area's count is
    negative."""
    areas = draw(streams())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.arange(150)
    level = draw(st.sampled_from([50.0, 5_000.0, 200_000.0, 3e6]))
    lam = level * (1 + 0.15 * np.sin(2 * np.pi * t / 12)) * (1 + 0.3 * np.sin(2 * np.pi * t / 70))
    lam = lam * np.where(t >= draw(st.integers(0, 149)), draw(st.sampled_from([0.5, 1, 2])), 1)
    country = rng.poisson(lam).astype(float)
    country[rng.random(150) < draw(st.sampled_from([0.0, 0.0, 0.05]))] = 0.0
    # A NaN country is no share either, but the reference learns it as a NaN log share rather
    # than a missing one (the engine passes no point at all when the country is missing).
    country[rng.random(150) < draw(st.sampled_from([0.0, 0.0, 0.03]))] = np.nan
    negative = draw(st.sampled_from([0.0, 0.0, 0.03]))
    out: dict[Hashable, dict[int, RelativePoint]] = {}
    for key, values in areas.items():
        out[key] = {
            p: RelativePoint(-1.0 if rng.random() < negative else v, float(country[p]))
            for p, v in values.items()
        }
    return out


def random_input(name: str) -> st.SearchStrategy[Series]:
    return share_streams() if name == "relative_shift" else streams()


@pytest.mark.parametrize(("name", "params"), RANDOM_CASES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_streams(name: str, params: DetectorParams, data: st.DataObject) -> None:
    series = data.draw(random_input(name))
    assert_conform(reference(name, params, series), banked(name, params, series))


# -- snapshots: a bank row and a reference detector are interchangeable ---------------------------


@pytest.mark.parametrize(("name", "params"), RANDOM_CASES)
@settings(max_examples=12, deadline=None)
@given(data=st.data(), cut=st.integers(0, 120))
def test_export_and_load_hand_over_mid_stream(
    name: str, params: DetectorParams, data: st.DataObject, cut: int
) -> None:
    """Bank → snapshot → reference, and reference → snapshot → bank, then both go on alike."""
    series = data.draw(random_input(name))
    cls = BANKS[name].reference
    for key, values in series.items():
        xs = [values[p] for p in sorted(values)]
        head, tail = xs[:cut], xs[cut:]
        bank = create(name, params)
        bank.grow(3)
        ref = cls(params)  # type: ignore[arg-type]
        for x in head:
            bank.learn(np.array([1]), np.array([x]))
            ref.learn(x)
        handed = cls.from_snapshot(json_roundtrip(bank.export(1)))
        bank.load(2, json_roundtrip(ref.snapshot()))
        for x in tail:
            want, alarm = ref.learn(x)
            got, got_alarm = handed.learn(x)
            row = bank.learn(np.array([2]), np.array([x]))
            assert (got_alarm, bool(row.alarm[0])) == (alarm, alarm), key
            assert math.isclose(got.score, want.score, rel_tol=REL, abs_tol=ABS), key
            assert math.isclose(float(row.score[0]), want.score, rel_tol=REL, abs_tol=ABS), key


def one(name: str, value: float) -> np.ndarray:
    """One observation of detector ``name`` (a share detector's with a country of 100 times it)."""
    return np.array([[value, 100 * value] if name == "relative_shift" else value])


@pytest.mark.parametrize("name", sorted(BANKS))
def test_a_reused_row_starts_afresh(name: str) -> None:
    keyed: Keyed[str] = Keyed(create(name))
    rows = np.array([keyed.add("a")])
    for t in range(40):
        keyed.bank.learn(rows, one(name, 100.0 + 10 * (t % 12)))
    keyed.remove("a")
    assert keyed.add("b") == rows[0]
    fresh = create(name)
    fresh.grow(8)
    assert keyed.bank.export(int(rows[0])) == fresh.export(int(rows[0]))  # type: ignore[attr-defined]


def test_state_bytes_per_series() -> None:
    """The documented state sizes (README, "Detector banks")."""
    sizes = {
        (name, np.dtype(dtype).name): create(name, dtype=dtype).bytes_per_row()
        for name in BANKS
        for dtype in (np.float64, np.float32)
    }
    assert sizes == {
        ("bocpd", "float64"): 1040,
        ("bocpd", "float32"): 536,
        ("cusum", "float64"): 248,
        ("cusum", "float32"): 136,
        ("relative_shift", "float64"): 2072,
        ("relative_shift", "float32"): 1208,
        ("seasonal_baseline", "float64"): 617,
        ("seasonal_baseline", "float32"): 313,
    }


def test_a_bank_stores_only_float64_or_float32() -> None:
    with pytest.raises(ValueError, match="float64 or float32"):
        create("cusum", dtype=np.float16)
    with pytest.raises(ValueError, match="no bank for detector 'divergence'"):
        create("divergence")


def test_warm_up_buffers_are_pooled_and_given_back() -> None:
    """A series holds a warm-up buffer only while warming up; a removed one gives it back."""
    keyed: Keyed[str] = Keyed(create("cusum"))
    model = keyed.bank.model  # type: ignore[union-attr]
    rows = np.array([keyed.add(k) for k in "abc"])
    for t in range(10):
        keyed.bank.learn(rows, np.full(3, 100.0 + t))
    assert model.pool.capacity >= 3 and (model.columns["warm_slot"][rows] >= 0).all()
    keyed.remove("c")
    keyed.add("d")  # takes c's row, afresh: c's buffer is free again
    assert model.columns["warm_slot"][rows[2]] == -1
    for t in range(13):
        keyed.bank.learn(rows[:2], np.full(2, 100.0 + t % 12))
    assert model.pool.capacity > 0  # a and b have 23 of their 24 warm-up values
    keyed.bank.learn(rows[:2], np.full(2, 100.0))
    assert model.pool.capacity == 0  # a and b are done; d has not started
    assert keyed.bank.model.ready(rows[:2]).all()  # type: ignore[union-attr]


def test_bocpd_takes_a_wide_release_in_chunks_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    values = rng.poisson(np.linspace(5, 5000, 7)[None, :], size=(60, 7)).astype(float)
    series = {i: dict(enumerate(values[:, i].tolist())) for i in range(7)}
    whole = banked("bocpd", BOCPDParams(), series)
    monkeypatch.setattr("tutka.detectors.bank.bocpd.CHUNK", 3)
    assert banked("bocpd", BOCPDParams(), series) == whole
