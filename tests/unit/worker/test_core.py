"""The worker's core stage without a broker: order restored across partitions, checkpoints.

:class:`~tutka.worker.core.CoreProcessor` is what the faust ``core`` agent runs for every record
of the ordered event stream. Fed the input partitions in any interleaving, it must give exactly
the alerts ``tutka replay`` gives (a behaviour tested on the core holds in both runners), and a
processor restored from a checkpoint must carry on as if it had never stopped.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tutka.models.alerts import Alert, AlertKind, Polarity
from tutka.models.codes import period_index
from tutka.models.events import UnemploymentReported
from tutka.streams.engine import Output, Rejection
from tutka.worker.core import CHECKPOINT_VERSION, Place

from ..streams.market import START
from .market import SHIFT, SOURCES, Event, Run, feed, processor, replayed, through_json


def test_interleaved_partitions_give_exactly_the_replays_alerts(run: Run) -> None:
    assert run.outputs == replayed(run.events)
    alerts = [o for o in run.outputs if isinstance(o, Alert)]
    assert {(a.area, a.kind, a.polarity) for a in alerts} == {
        ("KU240", AlertKind.UNEMPLOYMENT, Polarity.NEGATIVE)
    }
    assert SHIFT <= min(period_index(a.opened_period) for a in alerts) - START <= SHIFT + 2


def test_events_wait_for_every_partition_and_a_flush_releases_the_rest(run: Run) -> None:
    records = run.records
    core = processor()
    assert core.receive(records[0][1], records[0][0], 0) == []
    assert core.dirty and len(core.buffer) == 1  # the other partitions may still send earlier
    feed(core, records, first=1)
    assert len(core.buffer) > 0  # the last days wait for partitions that have gone quiet
    core.flush(offset=len(records) + 5)  # a tick at offset len + 5 found the stream quiet
    assert len(core.buffer) == 0 and not core.dirty and core.position == len(records) + 5


@pytest.mark.parametrize(
    "split", [700, *(pytest.param(n, marks=pytest.mark.slow) for n in (1, 1500))]
)
def test_a_restored_checkpoint_carries_on_exactly(run: Run, split: int) -> None:
    records = run.records
    before = processor()
    outputs = feed(before, records[:split])
    checkpoint = through_json(before.checkpoint())
    assert checkpoint["v"] == CHECKPOINT_VERSION and checkpoint["position"] == split - 1
    assert checkpoint["buffered"], "events held back for other partitions are part of the state"

    after = processor()
    after.restore(checkpoint)
    assert after.position == split - 1 and after.dirty
    assert after.covered(split - 1) and not after.covered(split)  # a replay skips what it has
    outputs += feed(after, records, first=split) + after.flush()
    assert outputs == run.outputs
    assert through_json(after.checkpoint()) == run.final


def test_the_core_takes_each_input_place_once_whatever_the_ingest_sends_again(run: Run) -> None:
    """After a restart the ingest reads its input again from the last committed offset and sends
    on copies of what it had sent. The ordered stream's records name each item's place in its
    input partition, and the core, restored from a checkpoint, skips the copies: a notice it has
    forgotten by then would count again, and a marker's events twice."""
    counters: Counter[str] = Counter()
    placed: list[tuple[str, Event, Place]] = []
    for source, event in run.records:
        placed.append((source, event, (counters[source], 0)))
        counters[source] += 1
    third = len(placed) // 3
    first = processor()
    outputs: list[Output] = []
    for offset, (source, event, place) in enumerate(placed[: 2 * third]):
        for out, _ in first.receive_record([event], source, offset, [place]):
            outputs += out
    second = processor()
    second.restore(through_json(first.checkpoint()))
    # The second ingest from the committed third on: each source's items in records of five.
    offset = 2 * third
    for source in SOURCES:
        mine = [(e, p) for s, e, p in placed[third:] if s == source]
        for start in range(0, len(mine), 5):
            chunk = mine[start : start + 5]
            steps = second.receive_record(
                [e for e, _ in chunk], source, offset, [p for _, p in chunk]
            )
            outputs += [o for out, _ in steps for o in out]
            offset += 1
    outputs += second.flush()
    alerts = [o for o in outputs if isinstance(o, Alert)]
    assert alerts == [o for o in run.outputs if isinstance(o, Alert)]
    assert second.copies == third  # every item of the copied third, and nothing else
    assert second.through == {s: (n - 1, 0) for s, n in counters.items()}


def test_restore_of_nothing_starts_over(run: Run) -> None:
    core = processor()
    feed(core, run.records[:50])
    core.restore(None)
    assert core.position == -1 and not core.dirty and len(core.buffer) == 0
    assert not core.covered(0)


def test_a_checkpoint_of_another_version_or_other_partitions_is_refused(run: Run) -> None:
    core = processor()
    feed(core, run.records[:50])
    checkpoint = through_json(core.checkpoint())
    with pytest.raises(ValueError, match="version 2 is not 1"):
        processor().restore({**checkpoint, "v": 2})
    with pytest.raises(ValueError, match="changing partition counts needs a new topic version"):
        processor(SOURCES[:3]).restore(checkpoint)


def test_an_event_the_engine_cannot_use_comes_out_as_a_rejection() -> None:
    core = processor(("tutka.unemployment.v1:0",))
    helsinki = UnemploymentReported(
        area="KU091", period="2020-01", measure="unemployed_jobseekers", value=5.0,
        published="2020-02-25",
    )  # fmt: skip
    outputs = core.receive(helsinki, "tutka.unemployment.v1:0", 0) + core.flush()
    assert len(outputs) == 1 and isinstance(outputs[0], Rejection)
    assert outputs[0].error_type == "unknown_area" and "KU091" in outputs[0].summary


def test_a_record_that_is_not_an_event_still_moves_the_position() -> None:
    core = processor()
    core.skip(4)
    assert core.position == 4 and not core.dirty
    core.skip(2)  # never backwards
    assert core.position == 4 and core.covered(4) and not core.covered(5)
