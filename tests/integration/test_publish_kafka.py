"""`tutka publish` as a real process on the session's real Kafka broker.

By default it sends batch records (consecutive events for one partition as one record,
``tutka.worker.intake``); ``--batch 1`` a record per event. Either way every valid event of the
files is on its topic exactly once, keyed (or batched) by area, in availability order within
its partition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tutka.replay import load
from tutka.synthetic import generate, write
from tutka.worker.intake import BATCH, BATCH_EVENTS
from tutka.worker.topics import Topics

ReadTopic = Callable[..., list[Any]]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("option", "batched"), [((), True), (("--batch", "1"), False)], ids=["default", "batch-1"]
)
def test_publish_sends_every_event_once_in_order_per_partition(
    kafka_bootstrap: str,
    topic_prefix: str,
    read_topic: ReadTopic,
    tmp_path: Path,
    option: tuple[str, ...],
    batched: bool,
) -> None:
    write(generate(seed=3, start="2018-01", end="2018-12"), tmp_path)
    loaded, dead = load([tmp_path])
    assert dead == []
    expected = [json.loads(r.item.model_dump_json()) for r in loaded]  # (availability order)
    unemployment = [e for e in expected if e["type"] == "unemployment"]
    assert len(unemployment) > 2 * BATCH_EVENTS
    namespace = f"{topic_prefix}."
    env = {**os.environ, "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
           "TUTKA_KAFKA__NAMESPACE": namespace, "TUTKA_KAFKA__PARTITIONS": "3"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tutka", "publish", str(tmp_path), "-q", *option],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0 invalid lines not sent" in done.stdout

    records = read_topic(Topics(namespace).unemployment, timeout=120)
    per_partition: dict[int, list[dict[str, Any]]] = {}
    sizes = []
    for record in records:  # (sorted by partition, then offset)
        if record.value.startswith(BATCH):
            assert record.key is None  # (its events have one each, all of this partition)
            items = json.loads(record.value)["events"]
        else:
            items = [json.loads(record.value)]
            assert record.key.decode() == items[0]["area"]
        sizes.append(len(items))
        per_partition.setdefault(record.partition, []).extend(items)
    # A batch holds up to BATCH_EVENTS and never outlasts a release (flushed at its last event).
    assert (1 < max(sizes) <= BATCH_EVENTS) if batched else max(sizes) == 1
    assert sum(sizes) == len(unemployment)
    assert len(per_partition) > 1
    for partition, got in per_partition.items():
        areas = {e["area"] for e in got}
        assert got == [e for e in unemployment if e["area"] in areas], partition
    # (an area's events all go to one partition)
    assert sum(len({e["area"] for e in got}) for got in per_partition.values()) == len(
        {e["area"] for e in unemployment}
    )
