"""Randomness: independent seeded streams; changing one component never reshuffles another."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from tutka.synthetic.dataset import Floats, Ints


class _Stream(IntEnum):
    """Independent random streams: changing one component never reshuffles another."""

    NATIONAL = 1
    SCENARIO = 2
    MARKET = 3
    COUNTS = 4
    NOTICE_COUNTS = 5
    NOTICE_DETAILS = 6
    REVISIONS = 7
    OCCUPATIONS = 8
    RANDOM_EVENTS = 9


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def _ar1(innovations: Floats, phi: float) -> Floats:
    """AR(1) along the last axis: irregular components of stocks are autocorrelated."""
    out = np.empty_like(innovations)
    state = np.zeros(innovations.shape[:-1])
    for t in range(innovations.shape[-1]):
        state = phi * state + innovations[..., t]
        out[..., t] = state
    return out


def _gamma_poisson(rng: np.random.Generator, mean: Floats, shape: float) -> Ints:
    """Counts with mean ``mean`` and variance ``mean + mean**2 / shape`` (negative binomial)."""
    # Gamma first over the whole row, then Poisson element by element: an early month's count
    # never depends on later means, which keeps windows and injections from reshuffling history.
    frailty = rng.gamma(shape, 1.0 / shape, size=mean.shape)
    return rng.poisson(np.maximum(mean, 0.0) * frailty).astype(np.int64)
