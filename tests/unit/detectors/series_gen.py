"""Seeded series and alarm helpers shared by the detector tests."""

from __future__ import annotations

import math
import random

from tutka.detectors.base import Assessment, BaseDetector

Alarm = tuple[int, Assessment]


def alarms(xs: list[float], det: BaseDetector) -> list[Alarm]:  # type: ignore[type-arg]
    """(index, assessment) of every alarm ``det`` raises on ``xs``, learning as it goes."""
    out = []
    for t, x in enumerate(xs):
        assessment, alarm = det.learn(x)
        if alarm:
            out.append((t, assessment))
    return out


def indices(found: list[Alarm]) -> list[int]:
    return [t for t, _ in found]


def poisson_counts(
    seed: int, n: int, level: float, at: int | None = None, factor: float = 1.0
) -> list[float]:
    """Seasonal Poisson counts; Knuth's method below 500, the normal approximation above."""
    rng = random.Random(seed)
    out = []
    for t in range(n):
        lam = level * (1 + 0.15 * math.sin(2 * math.pi * t / 12))
        if at is not None and t >= at:
            lam *= factor
        if lam < 500:
            k, p, limit = 0, rng.random(), math.exp(-lam)
            while p > limit:
                k += 1
                p *= rng.random()
            out.append(float(k))
        else:
            out.append(float(max(0, round(rng.gauss(lam, math.sqrt(lam))))))
    return out


def trending_counts(seed: int, n: int, rate: float, level: float = 2000.0) -> list[float]:
    """The conformance series (noise 1.5 x Poisson) growing by ``rate`` a year."""
    rng = random.Random(seed)
    out = []
    for t in range(n):
        mean = level * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1 + rate) ** (t / 12)
        out.append(max(0.0, round(rng.gauss(mean, 1.5 * math.sqrt(mean)))))
    return out
