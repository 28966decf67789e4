"""``tutka bench kafka``'s paced run through a real broker and worker: every paced release is
timed by the worker's acknowledgement on ``tutka.releases.v1``, after a full-speed warm-up.

The figures themselves are never asserted on (speed is measured, not tested): only that each
release of the paced part was matched to its judgement, once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutka.bench import RELEASE, run_worker_bench
from tutka.bench_latency import paced_start
from tutka.streams.ordering import ordering_key
from tutka.synthetic import generate

pytestmark = pytest.mark.slow


def test_the_paced_run_times_every_release_by_its_judgement(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    data = generate(seed=7, start="2023-01", end="2023-05", occupations=1)
    events = sorted(data.events, key=ordering_key)
    split = paced_start(events, 3000)  # about 2 400 events, 26 releases
    paced = events[split:]
    assert 0 < split < len(events)
    figures = run_worker_bench(kafka_bootstrap, paced, 1000.0, tmp_path, warmup=events[:split])
    latency = figures.latency
    assert figures.measured == RELEASE and latency is not None
    # every paced release (figures and notice days alike), none of the warm-up's
    assert latency.n == len({e.available_on for e in paced}) and latency.missing == 0
    assert latency.p50 is not None and latency.max is not None and 0 < latency.p50 <= latency.max
    assert figures.events == len(paced)
