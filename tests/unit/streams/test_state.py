"""Engine snapshots: restore mid-stream and carry on exactly as if never interrupted."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from tutka.config.areas import demo_hierarchy
from tutka.config.catalogue import OutlierRules, load_catalogue
from tutka.models.alerts import Alert, AlertKind
from tutka.models.events import LayoffNoticeFiled
from tutka.streams.engine import Engine
from tutka.streams.ordering import ordering_key
from tutka.streams.state import VERSION, SnapshotError, restore, schema, snapshot
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


def test_a_version_1_snapshot_is_written_back_exactly_as_it_was_read() -> None:
    data = json.loads(gzip.decompress(V1_SNAPSHOT.read_bytes()))
    again = json.loads(json.dumps(snapshot(restore(data, H, CATALOGUE)), allow_nan=False))
    empty = Engine(H, CATALOGUE)
    assert again.pop("triggers") == snapshot(empty)["triggers"]  # added since, and empty
    assert again.pop("stories") == snapshot(empty)["stories"]
    assert again == data


def test_an_older_snapshot_is_refused_with_both_versions_named() -> None:
    data = dict(snapshot(Engine(H, CATALOGUE)))
    data["v"] = 0
    with pytest.raises(SnapshotError, match=r"version 0; this build reads version 1 .*older"):
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
