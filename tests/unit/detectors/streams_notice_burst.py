"""Conformance streams for notice_burst: sparse monthly layoff-notice tallies of one cell."""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from tutka.detectors.notice_burst import NoticeTally

from .streams import Streams


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's multiplication method: fine for the small means of notice counts."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def notices(
    seed: int,
    n: int,
    rate: float = 0.4,
    sizes: tuple[int, int] = (5, 40),
    bursts: dict[int, NoticeTally] | None = None,
) -> list[NoticeTally]:
    """Monthly tallies: Poisson(rate) notices of uniform sizes, plus bursts at given months."""
    rng = random.Random(seed)
    out = []
    for t in range(n):
        count = poisson(rng, rate)
        persons = sum(rng.randint(*sizes) for _ in range(count))
        extra = (bursts or {}).get(t, NoticeTally(0, 0))
        out.append(NoticeTally(count + extra.count, persons + extra.persons))
    return out


#: The closure wave injected by the shifted stream: six notices, 520 persons in one month.
BURST = NoticeTally(6, 520)


@st.composite
def tallies(draw: st.DrawFn) -> NoticeTally:
    count = draw(st.integers(0, 300))
    persons = 0 if count == 0 else draw(st.integers(count, count * 100_000))
    return NoticeTally(count, persons)


STREAMS = Streams(
    stationary=lambda seed, n: notices(seed, n),
    shifted=lambda seed, n, at: notices(seed, n, bursts={at: BURST}),
    within=0,  # a one-month burst: the alarm must come that very month
    inputs=tallies(),
)
