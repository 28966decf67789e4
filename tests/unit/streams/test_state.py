"""Engine snapshots: restore mid-stream and carry on exactly as if never interrupted."""

from __future__ import annotations

import gzip
import json
import math
from array import array
from datetime import date
from pathlib import Path

import pytest

from tutka.config.areas import demo_hierarchy
from tutka.config.catalogue import OutlierRules, load_catalogue
from tutka.models.alerts import Alert, AlertKind
from tutka.models.events import LayoffNoticeFiled
from tutka.streams.engine import Engine
from tutka.streams.ordering import ordering_key
from tutka.streams.series import History, Point
from tutka.streams.state import (
    VERSION,
    SnapshotError,
    _DetectorSetsRead,
    _history,
    _history_from,
    _numbers,
    _packed,
    _unpacked,
    restore,
    schema,
    snapshot,
)
from tutka.synthetic import generate

from .market import figures, notice
from .test_engine import CATALOGUE, SHIFT, H


def through_json(engine: Engine) -> Engine:
    data = json.loads(json.dumps(snapshot(engine), allow_nan=False))
    return restore(data, engine.hierarchy, engine.catalogue)


def run_split(events: list, engine: Engine, split: int) -> tuple[list, list]:  # type: ignore[type-arg]
    """Outputs uninterrupted, and with a snapshot/restore after ``split`` events."""
    whole = Engine(engine.hierarchy, engine.catalogue).run(events)
    first = engine
    out = [o for e in events[:split] for o in first.process(e)]
    second = through_json(first)
    out += [o for e in events[split:] for o in second.process(e)] + second.flush()
    assert json.dumps(snapshot(second), sort_keys=True) == json.dumps(
        snapshot(_finished(engine.hierarchy, engine.catalogue, events)), sort_keys=True
    )
    return whole, out


def _finished(h, catalogue, events) -> Engine:  # type: ignore[no-untyped-def]
    engine = Engine(h, catalogue)
    engine.run(events)
    return engine


@pytest.mark.parametrize(
    "split", [1, *(pytest.param(n, marks=pytest.mark.slow) for n in (300, 1100, 2000))]
)
def test_restore_anywhere_gives_the_same_alerts_and_state(split: int) -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    burst = [notice(f"mill-{i}", date(2018, 1, 3 + i), 200) for i in range(3)]
    events = sorted([*figures(unemployment=jump), *burst], key=ordering_key)
    revised = events[1500].model_copy(
        update={"revision": 1, "value": 7.0, "published": date(2019, 1, 28)}
    )
    events = sorted([*events, revised], key=ordering_key)
    whole, split_out = run_split(events, Engine(H, CATALOGUE), split)
    assert whole == split_out
    assert any(getattr(o, "kind", None) for o in whole), "the scenario should raise alerts"


@pytest.mark.slow
def test_restore_with_pooled_outliers_and_notices_on_synthetic_data() -> None:
    data = generate(seed=3, start="2015-01", end="2019-12")
    events = sorted(data.events, key=ordering_key)
    # The isolation forests are off by default (README's ablation): turn them on to test them.
    catalogue = load_catalogue().model_copy(
        update={"outlier": OutlierRules(levels=("KU", "SK", "MK", "ELY"))}
    )
    engine = Engine(demo_hierarchy(), catalogue)
    whole, split_out = run_split(events, engine, len(events) * 2 // 3)
    assert whole == split_out
    assert any(isinstance(e, LayoffNoticeFiled) for e in events)
    assert engine.state.outliers, "the isolation forests should have been part of the state"


@pytest.mark.slow
def test_restore_after_calibration_continues_exactly() -> None:
    # Twelve years: the engine calibrates its thresholds to the budget (from 2017 on) and
    # restores the tracks, thresholds and rarity curves with everything else.
    data = generate(seed=7, start="2012-01", end="2023-12")
    events = sorted(data.events, key=ordering_key)
    engine = Engine(demo_hierarchy(), load_catalogue())
    whole, split_out = run_split(events, engine, len(events) * 9 // 10)
    assert whole == split_out
    assert engine.calibration.results, "the engine should have calibrated by then"
    assert any(
        e.once_in_years is not None for a in whole if isinstance(a, Alert) for e in a.evidence
    )


@pytest.mark.slow
def test_restore_with_occupation_breakdowns() -> None:
    # Series with and without an occupation meet in one release (and in its decisions).
    data = generate(seed=5, start="2017-01", end="2019-12", occupations=4)
    events = sorted(data.events, key=ordering_key)
    assert any(getattr(e, "occupation", None) for e in events)
    engine = Engine(demo_hierarchy(), load_catalogue())
    whole, split_out = run_split(events, engine, len(events) // 2)
    assert whole == split_out


def test_a_snapshot_of_another_version_is_refused() -> None:
    engine = Engine(H, CATALOGUE)
    data = snapshot(engine)
    data["v"] = 99
    with pytest.raises(ValueError, match="version 99"):
        restore(data, H, CATALOGUE)


#: A snapshot in format version 1, taken mid-release in May 2018 of the scenario below: alert
#: groups, notice bursts, a pending release. Written by the engine before it was split into
#: stages; its alert groups rewritten once for #15 (alerts gained impact, labour_share and
#: confidence, and new texts and severities): only "groups" differed, the format is the same.
V1_SNAPSHOT = Path(__file__).parent / "data" / "engine-snapshot-v1.json.gz"


def test_a_snapshot_written_by_an_earlier_build_restores_and_continues_exactly() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    burst = [notice(f"mill-{i}", date(2018, 1, 3 + i), 200) for i in range(3)]
    events = sorted([*figures(unemployment=jump), *burst], key=ordering_key)
    split = next(i for i, e in enumerate(events) if str(e.period) >= "2018-05") + 5
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    engine = restore(data, H, CATALOGUE)
    assert engine.state.pending is not None and engine.state.bursts and engine.state.groups
    resumed = [o for e in events[split:] for o in engine.process(e)] + engine.flush()
    whole = Engine(H, CATALOGUE).run(events)
    first = Engine(H, CATALOGUE)
    before = [o for e in events[:split] for o in first.process(e)]
    # The earlier build kept no policy-trigger watchers and no notice footprints: they start
    # empty on restore, so triggers and stories are compared only where both builds have them.
    assert _before_stories(before + resumed) == _before_stories(whole)
    assert any(isinstance(o, Alert) for o in resumed)
    assert any(isinstance(o, Alert) and o.story is not None for o in whole)


def _before_stories(out: list[object]) -> list[object]:
    """The outputs as a build without triggers and stories made them."""
    return [
        o.model_copy(update={"story": None}) if isinstance(o, Alert) else o
        for o in out
        if not (isinstance(o, Alert) and o.kind is AlertKind.POLICY_TRIGGER)
    ]


def test_a_version_1_snapshot_is_written_back_as_version_2_losing_nothing() -> None:
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    again = json.loads(json.dumps(snapshot(restore(data, H, CATALOGUE)), allow_nan=False))
    assert again["v"] == VERSION == 2
    empty = Engine(H, CATALOGUE)
    assert again.pop("triggers") == snapshot(empty)["triggers"]  # added since, and empty
    assert again.pop("stories") == snapshot(empty)["stories"]
    assert as_version_1(again) == data
    # …and the series smaller: each parameter set once, the values as columns.
    series = sum(len(json.dumps(again[k])) for k in ("series", "params", "detector_sets"))
    assert series < 0.6 * len(json.dumps(data["series"]))


def as_version_1(data: dict) -> dict:  # type: ignore[type-arg]
    """A version-2 snapshot in version 1's layout (detector sets and parameters in place, the
    floats unpacked, values as triples)."""
    data = dict(data)
    table = data.pop("params")
    sets = data.pop("detector_sets")

    def inline(row: int) -> dict:  # type: ignore[type-arg]
        return {
            name: {**snap, "params": table[snap["params"]], "state": _unpacked(snap["state"])}
            for name, snap in sets[row].items()
        }

    series = []
    for item in data["series"]:
        first, values, revisions = item["history"]
        if type(revisions) is int:
            revisions = [revisions] * len(values)
        history = [
            [first + i, float(v), r]
            for i, (v, r) in enumerate(zip(values, revisions, strict=True))
            if v is not None
        ]
        checkpoints = [[p, inline(row)] for p, row in item["checkpoints"]]
        series.append(
            {**item, "detectors": inline(item["detectors"]), "history": history,
             "checkpoints": checkpoints}
        )  # fmt: skip
    return {**data, "v": 1, "series": series}


def test_a_snapshot_is_written_back_exactly_as_it_was_read() -> None:
    events = sorted(generate(seed=5, start="2017-01", end="2019-12", occupations=2).events,
                    key=ordering_key)  # fmt: skip
    engine = Engine(demo_hierarchy(), CATALOGUE)
    for event in events[: len(events) * 2 // 3]:
        engine.process(event)
    text = json.dumps(snapshot(engine), allow_nan=False)
    restored = restore(json.loads(text), engine.hierarchy, engine.catalogue)
    assert json.dumps(snapshot(restored), allow_nan=False) == text
    data = json.loads(text)
    assert len(data["params"]) < len(data["series"])  # shared, not repeated
    assert len(data["detector_sets"]) < len(data["series"])  # (most have learnt nothing)
    assert any(type(r) is int for s in data["series"] for _, _, r in [s["history"]])


@pytest.mark.parametrize(
    "points",
    [
        [(24001, 10.0, 0), (24002, 10.5, 0), (24003, -0.0, 0), (24004, 3e20, 0)],
        [(24001, 1.0, 0), (24003, 2.0, 1), (24004, 0.1, 0)],  # a gap, mixed revisions
        [(24001, 7.0, 2), (24005, 8.0, 2)],  # a gap, one revision
        [],
    ],
)
def test_a_history_is_written_as_columns_and_read_back_the_same(points: list) -> None:  # type: ignore[type-arg]
    history = History((p, Point(v, r)) for p, v, r in points)
    row = json.loads(json.dumps(_history(history)))
    again = _history_from(row)
    assert [(p, pt.value, pt.revision) for p, pt in again.items()] == points
    assert [math.copysign(1.0, pt.value) for _, pt in again.items()] == [
        math.copysign(1.0, v) for _, v, _ in points
    ]
    assert len(again) == len(points)
    assert json.dumps(_history(again)) == json.dumps(row)


@pytest.mark.parametrize(
    ("state", "packs"),
    [
        ({"y": [1.5, -0.0, math.nan, math.inf, 1e-300], "seen": 3}, 1),
        ({"deviations": [[0.1, 0.2, 0.3, 0.4], [0.5, None, 0.7, 0.8]], "counts": [1.0, 2.0]}, 1),
        ({"ints": [1, 2, 3, 4, 5], "mixed": [1.0, 2, 3.0, 4.0], "nested": {"s": [9.0] * 40}}, 1),
        ({"short": [1.0, 2.0, 3.0], "empty": []}, 0),
    ],
)
def test_a_detector_state_is_packed_exactly(state: object, packs: int) -> None:
    packed = json.loads(json.dumps(_packed(state)))  # type: ignore[arg-type]
    assert json.dumps(packed).count('"f8"') == packs  # (lists of 4 or more floats only)
    assert json.dumps(_unpacked(packed)) == json.dumps(state)  # (NaN, -0.0; ints stay ints)


def test_packed_floats_that_are_not_are_refused() -> None:
    with pytest.raises(SnapshotError, match="packed floats"):
        _unpacked({"y": {"f8": "AAAA"}})  # three bytes: not a double


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["history"].__setitem__(2, -1), "history of revision -1"),
        (lambda s: s["history"].__setitem__(2, [0]), "values and revisions do not match"),
        (lambda s: s.update(detectors=10**6), "names detector set 1000000"),
        (lambda s: s["checkpoints"][0].__setitem__(1, -1), "names detector set -1"),
    ],
)
def test_a_series_that_does_not_add_up_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    data = json.loads(json.dumps(snapshot(restore(data, H, CATALOGUE))))
    watched = next(
        s for s in data["series"]
        if s["checkpoints"] and "relative_shift" in data["detector_sets"][s["detectors"]]
    )  # fmt: skip
    change(watched)
    with pytest.raises(SnapshotError, match=message):
        restore(data, H, CATALOGUE)


def test_a_detector_set_naming_a_missing_parameter_set_is_refused() -> None:
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    data = json.loads(json.dumps(snapshot(restore(data, H, CATALOGUE))))
    row = next(r for r in data["detector_sets"] if "relative_shift" in r)
    row["relative_shift"]["params"] = 99
    with pytest.raises(SnapshotError, match="parameter set 99"):
        restore(data, H, CATALOGUE)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("groups"), "at groups: Field required"),
        (lambda d: d["series"][0].update(last="soon"), "at series.0.last"),
        (
            lambda d: d["pending"]["figures"][0][1].update(type="notice"),
            "invalid record.*tag 'notice'",
        ),
        (lambda d: d["bursts"][0]["detector"].update(detector="cusum"), "cannot judge notice"),
    ],
)
def test_a_snapshot_off_the_schema_is_refused_saying_where(change, where: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    change(data)
    with pytest.raises(ValueError, match=where):
        restore(data, H, CATALOGUE)


#: The layout's JSON schema as committed: a change to the layout shows here and needs a new
#: ``VERSION`` (and a reader of the old one, or a note that old checkpoints are dropped).
SCHEMA = Path(__file__).parents[3] / "docs" / "engine-snapshot.schema.json"


def test_the_committed_schema_is_the_layout_this_build_writes() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == schema()
    assert schema()["properties"]["v"] == {"const": VERSION, "title": "V", "type": "integer"}


def test_detectors_are_restored_from_copies_of_their_row_and_checkpoints_share_it() -> None:
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    data = json.loads(json.dumps(snapshot(restore(data, H, CATALOGUE))))
    sets = _DetectorSetsRead(data["detector_sets"], data["params"])
    index = next(i for i, r in enumerate(data["detector_sets"]) if "relative_shift" in r)
    assert sets.row(index) is sets.row(index)  # (a checkpoint's: read once, never changed)
    fresh = sets.fresh(index)
    assert fresh == sets.row(index)
    fresh["relative_shift"]["state"]["y"].append(1.0)  # (as a detector restored from it may)
    assert fresh != sets.row(index) == sets.fresh(index)


def test_whole_values_are_written_as_integers_and_nothing_else_is() -> None:
    values = array("d", [10.0, 10.5, -0.0, 0.0, -3.0, 2.0**53, 2.0**53 - 1, math.nan, 1e-9])
    written = _numbers(values)
    assert [type(v) for v in written] == [int, float, float, int, int, float, int, float, float]
    assert json.dumps(written) == (
        "[10, 10.5, -0.0, 0, -3, 9007199254740992.0, 9007199254740991, NaN, 1e-09]"
    )
    assert _numbers(array("d", [1.0, 2.0])) == [1, 2] and _numbers(array("d")) == []
    assert _numbers(array("d", [0.25, 0.5])) == [0.25, 0.5]
