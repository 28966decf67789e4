"""Compact per-series state: the history arrays behave as the dict they replace, and series share
their pristine detectors until they learn."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.streams.engine import Engine
from tutka.streams.ordering import ordering_key
from tutka.streams.series import History, Point
from tutka.streams.signals import SeriesKey
from tutka.streams.stages import detection
from tutka.streams.state import snapshot

from .market import figures
from .test_engine import CATALOGUE, H

# One operation on a history: store (period, value, revision) or forget through a period.
Operation = tuple[str, int, float, int]
operations = st.lists(
    st.tuples(
        st.sampled_from(["set", "set", "set", "next", "drop"]),
        st.integers(24000, 24100),
        st.floats(0, 1e6),
        st.integers(0, 3),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_a_history_behaves_as_a_dict_of_points(ops: list[Operation]) -> None:
    history, reference = History(), dict[int, Point]()
    for op, period, value, revision in ops:
        if op == "set":
            history[period] = Point(value, revision)
            reference[period] = Point(value, revision)
        elif op == "next":
            # The shortcut for the month after the newest, and only for it (asked for it half
            # of the time).
            if reference and period % 2:
                period = max(reference) + 1
            following = bool(reference) and period == max(reference) + 1
            assert history.append_next(period, value, revision) is following
            if following:
                reference[period] = Point(value, revision)
        else:
            history.drop_through(period)
            for old in [p for p in reference if p <= period]:
                del reference[old]
        assert len(history) == len(reference)
        assert list(history.items()) == sorted(reference.items())
        assert list(history.periods()) == sorted(reference)
        for p in range(24000, 24101, 7):
            assert history.get(p) == reference.get(p)
            assert history.value(p) == (reference[p].value if p in reference else None)
        assert history.span == (max(reference) - min(reference) + 1 if reference else 0)
    assert list(History(reference.items()).items()) == sorted(reference.items())


def test_a_history_of_48_months_is_two_flat_arrays() -> None:
    history = History((24000 + i, Point(float(i), 0)) for i in range(60))
    history.drop_through(24011)
    assert (len(history), history.span, history.get(24011), history[24012]) == (
        48,
        48,
        None,
        Point(12.0, 0),
    )


def test_series_share_pristine_detectors_until_they_learn() -> None:
    engine = Engine(H, CATALOGUE)
    events = sorted(figures(months=30), key=ordering_key)
    # An occupation breakdown has no national counterpart to be relative to: its detectors
    # never learn, so it keeps sharing them.
    breakdowns = [
        e.model_copy(update={"occupation": "2221", "area": "KU240"})
        for e in events
        if e.area == "KU240"
    ]
    engine.run(sorted([*events, *breakdowns], key=ordering_key))
    watched = engine.series[SeriesKey("KU240", "unemployed_jobseekers")]
    breakdown = engine.series[SeriesKey("KU240", "unemployed_jobseekers", None, "2221")]
    other = engine.series[SeriesKey("KU751", "open_at_month_end", None, None)]
    assert watched.pristine is None and watched.last is not None
    assert breakdown.pristine is not None and breakdown.last == watched.last
    pristine = breakdown.pristine
    assert breakdown.detectors is pristine.detectors
    assert all(snaps is pristine.snapshot for _, snaps in breakdown.checkpoints)
    # the shared detectors were never taught: they are as a fresh set
    fresh = {name: d.snapshot() for name, d in pristine.fresh().items()}
    assert json.dumps(pristine.snapshot) == json.dumps(fresh)
    assert {name: d.snapshot() for name, d in pristine.detectors.items()} == fresh
    assert watched.detectors is not pristine.detectors
    # Vacancies of a municipality are watched nationally only (the default catalogue): nothing
    # to learn, so nothing of their own.
    assert other.pristine is not None and dict(other.detectors) == {}
    json.dumps(snapshot(engine), allow_nan=False)  # and all of it is JSON


def test_a_restored_engine_shares_the_detectors_that_never_learnt() -> None:
    from .test_state import through_json

    engine = Engine(H, CATALOGUE)
    events = sorted(figures(months=30), key=ordering_key)
    breakdowns = [e.model_copy(update={"occupation": "2221"}) for e in events if e.area == "KU240"]
    engine.run(sorted([*events, *breakdowns], key=ordering_key))
    restored = through_json(engine)
    key = SeriesKey("KU240", "unemployed_jobseekers", None, "2221")
    breakdown, watched = restored.series[key], restored.series[key._replace(occupation=None)]
    assert breakdown.pristine is restored.pristine(breakdown.rule, breakdown.key.area)
    assert breakdown.detectors is breakdown.pristine.detectors
    assert all(snaps is breakdown.pristine.snapshot for _, snaps in breakdown.checkpoints)
    assert watched.pristine is None
    assert json.dumps(snapshot(restored), sort_keys=True) == json.dumps(
        snapshot(engine), sort_keys=True
    )


def test_series_no_detector_watches_move_on_as_the_general_path_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Vacancies below the country and occupation breakdowns have no detectors (the default
    # catalogue): the detection stage's shortcut for them must leave the very state, and give
    # the very alerts, that judging them with their (empty) set of detectors gives.
    events = sorted(figures(months=40), key=ordering_key)
    breakdowns = [e.model_copy(update={"occupation": "2221"}) for e in events if e.area == "KU240"]
    revised = events[len(events) // 2].model_copy(update={"revision": 1, "value": 7.0})
    stream = sorted([*events, *breakdowns, revised], key=ordering_key)
    fast = Engine(H, CATALOGUE)
    fast_out = fast.run(stream)
    assert any(
        detection.unwatched(s, fast.pristine(s.rule, k.area)) for k, s in fast.series.items()
    )
    monkeypatch.setattr(detection, "unwatched", lambda series, pristine: False)
    general = Engine(H, CATALOGUE)
    assert general.run(stream) == fast_out
    assert json.dumps(snapshot(general), sort_keys=True) == json.dumps(
        snapshot(fast), sort_keys=True
    )
