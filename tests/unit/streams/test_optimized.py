"""The engine under ``python -O``: assertions stripped, the same alerts.

Control flow must never rest on ``assert`` (``-O`` removes it): a run with and without ``-O`` —
figures, notices, a revision, pooled outliers, and a snapshot/restore half-way — gives the same
alert versions, byte for byte.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Run in a fresh interpreter: prints the optimisation level, then every output as JSON.
SCRIPT = """
import json, sys
from tutka.config.areas import demo_hierarchy
from tutka.config.catalogue import OutlierRules, load_catalogue
from tutka.models.alerts import Alert
from tutka.streams.engine import Engine
from tutka.streams.ordering import ordering_key
from tutka.streams.state import restore, snapshot
from tutka.synthetic import generate

events = sorted(generate(seed=3, start="2016-01", end="2018-12").events, key=ordering_key)
revised = events[len(events) // 3].model_copy(update={"revision": 1, "value": 7.0})
events = sorted([*events, revised], key=ordering_key)
catalogue = load_catalogue().model_copy(update={"outlier": OutlierRules(levels=("KU", "SK"))})
engine = Engine(demo_hierarchy(), catalogue)
half = len(events) // 2
out = [o for e in events[:half] for o in engine.process(e)]
data = json.loads(json.dumps(snapshot(engine), allow_nan=False))
engine = restore(data, demo_hierarchy(), catalogue)
out += [o for e in events[half:] for o in engine.process(e)] + engine.flush()
print(sys.flags.optimize)
for o in out:
    print(o.model_dump_json() if isinstance(o, Alert) else repr(o))
"""


def _run(*flags: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, *flags, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.slow
def test_the_engine_gives_the_same_alerts_with_assertions_stripped() -> None:
    plain, optimised = _run(), _run("-O")
    assert plain[0] == "0" and optimised[0] == "1"
    assert len(plain) > 10, "the scenario should raise alerts"
    assert optimised[1:] == plain[1:]
