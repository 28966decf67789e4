"""Context novelty: has this value, in this context, ever been seen before?

A streaming detector for patterned telemetry (the NAB corpus: machine metrics, traffic, tweet
volumes), in the spirit of "contextual" detectors such as CAD OSE but written from scratch.

* Values are quantised into ``bins`` levels between the smallest and largest value seen so far.
* The last ``length`` levels form a context; for each context configuration the score is the share
  of the context's suffixes (lengths 1..``length``) never seen before. A *phased* configuration
  also keys the context with the observation's phase (hour of day, month of year), so "a normal
  value at an abnormal time" is new too.
* A value beyond the range seen so far by more than ``range_tolerance`` of the range is novel
  outright (score 1).
* After a strong novelty (``rest_from``) the detector *rests* for ``rest`` observations: one
  anomaly is reported once, not at every following step — and what was new becomes familiar,
  so a persistent change is adopted. Only range breaches still speak while it rests.

Input: :class:`Reading` (value and phase). Score: in [0, 1]. State: the range, a few recent levels
and the set of contexts seen, capped at ``memory`` entries (later contexts are then scored but no
longer remembered, which keeps snapshots bounded).

>>> detector = ContextNovelty(ContextNovelty.Params(warmup=48, rest=24))
>>> day = [0, 0, 1, 4, 8, 9, 9, 8, 6, 3, 1, 0] * 2
>>> alarms = [t for t in range(24 * 20) if detector.learn(Reading(day[t % 24], t % 24))[1]]
>>> alarms
[]
>>> detector.learn(Reading(4.0, 5))[1]     # mid-level where the peak always was: new
True
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar, NamedTuple

from pydantic import Field, model_validator

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    JSONValue,
    integer,
    number,
)


class Reading(NamedTuple):
    """One observation and its phase in the cycle (0 ≤ phase < ``phases``; 0 when acyclic)."""

    value: float
    phase: int = 0


Context = tuple[int, int]  # (bins, length)


class ContextNoveltyParams(DetectorParams):
    """Hyperparameters of :class:`ContextNovelty`: contexts, phase, range, rest, warm-up, memory."""

    threshold: float = Field(default=0.85, gt=0, le=1)
    contexts: tuple[Context, ...] = Field(
        default=((4, 8), (6, 6), (8, 4), (12, 3), (16, 2)),
        min_length=1,
        description="(bins, length) of the unphased contexts; their novelty is averaged",
    )
    phased: Context = Field(default=(5, 3), description="(bins, length) of the phased context")
    phases: int = Field(default=24, ge=1, description="distinct phases (24 hours, 12 months)")
    range_tolerance: float = Field(default=0.03, gt=0)
    rest: int = Field(default=500, ge=0, description="observations to stay quiet after an alarm")
    rest_from: float = Field(default=0.8, gt=0, le=1)
    warmup: int = Field(default=100, ge=1)
    memory: int = Field(default=200_000, ge=100, description="most contexts remembered")
    #: The phased context dominates the blend (it carries "wrong time" evidence that the unphased
    #: contexts cannot), the mean keeps weak agreement from both.
    blend_max: float = Field(default=0.8, ge=0, le=1)
    #: Novel contexts score just below a range breach, so a threshold can separate the two.
    novelty_scale: float = Field(default=0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _contexts_are_sane(self) -> ContextNoveltyParams:
        for bins, length in (*self.contexts, self.phased):
            if bins < 2 or length < 1 or length > 16:
                raise ValueError(f"context ({bins}, {length}) needs ≥2 bins and length 1..16")
        return self


class ContextNovelty(BaseDetector[Reading, ContextNoveltyParams]):
    """How new a value is in its recent context and phase: our NAB entry (see the module)."""

    name: ClassVar[str] = "context_novelty"
    Params = ContextNoveltyParams
    STATE_VERSION: ClassVar[int] = 1

    def __init__(self, params: ContextNoveltyParams | None = None) -> None:
        super().__init__(params)
        self._n = 0
        self._low: float | None = None
        self._high: float | None = None
        self._quiet_until = -1  # observation index up to which the detector rests
        configs = (*self.params.contexts, self.params.phased)
        self._recent: list[deque[int]] = [deque(maxlen=length) for _, length in configs]
        self._seen: set[tuple[int, ...]] = set()

    # -- scoring ---------------------------------------------------------------------------------
    def assess(self, x: Reading) -> Assessment:
        """How novel ``x`` is in its contexts, or how far it breaks the range; no state changes."""
        baseline = self._baseline()
        if not self.ready:
            return Assessment.quiet(baseline)
        score = self._score(x, self._novel_keys(x)[1])
        direction = (x.value > baseline) - (x.value < baseline)
        return Assessment(score, baseline, direction if score > 0 else 0)

    def _score(self, x: Reading, novelty: float) -> float:
        if self._breaks_range(x.value):
            return 1.0
        if self._n <= self._quiet_until:
            return 0.0
        return self.params.novelty_scale * novelty

    def _breaks_range(self, value: float) -> bool:
        if self._low is None or self._high is None or self._high <= self._low:
            return False
        margin = (self._high - self._low) * self.params.range_tolerance
        return value > self._high + margin or value < self._low - margin

    def _novel_keys(self, x: Reading) -> tuple[list[tuple[int, ...]], float]:
        """The contexts ending at ``x`` (as keys) and the blended share of them never seen."""
        low = x.value if self._low is None else min(self._low, x.value)
        high = x.value if self._high is None else max(self._high, x.value)
        keys: list[tuple[int, ...]] = []
        shares: list[float] = []
        configs = (*self.params.contexts, self.params.phased)
        for k, ((bins, length), recent) in enumerate(zip(configs, self._recent, strict=True)):
            earlier = tuple(recent)[len(recent) - length + 1 :] if length > 1 else ()
            levels = (*earlier, _level(x.value, low, high, bins))
            phased = k == len(configs) - 1
            prefix = (k, x.phase % self.params.phases) if phased else (k,)
            novel = 0
            for size in range(1, len(levels) + 1):
                key = (*prefix, *levels[-size:])
                keys.append(key)
                novel += key not in self._seen
            shares.append(novel / length)
        unphased = sum(shares[:-1]) / len(shares[:-1])
        pair = (unphased, shares[-1])
        blend = self.params.blend_max
        return keys, blend * max(pair) + (1 - blend) * sum(pair) / 2

    def _baseline(self) -> float:
        recent = self._recent[0]
        if self._low is None or self._high is None or not recent:
            return 0.0
        bins = self.params.contexts[0][0]
        return self._low + (recent[-1] + 0.5) * (self._high - self._low) / bins

    # -- learning --------------------------------------------------------------------------------
    def update(self, x: Reading) -> None:
        """Remember ``x``'s contexts and widen the range; a strong novelty starts a rest."""
        keys, novelty = self._novel_keys(x)
        if self.ready and self._n > self._quiet_until:
            strength = max(novelty, 1.0 if self._breaks_range(x.value) else 0.0)
            if strength >= self.params.rest_from:
                self._quiet_until = self._n + self.params.rest
        for key in keys:
            if len(self._seen) >= self.params.memory:
                break
            self._seen.add(key)
        self._low = x.value if self._low is None else min(self._low, x.value)
        self._high = x.value if self._high is None else max(self._high, x.value)
        configs = (*self.params.contexts, self.params.phased)
        for (bins, _), recent in zip(configs, self._recent, strict=True):
            recent.append(_level(x.value, self._low, self._high, bins))
        self._n += 1

    @property
    def ready(self) -> bool:
        """Whether ``warmup`` readings have been learnt."""
        return self._n >= self.params.warmup

    # -- snapshots -------------------------------------------------------------------------------
    def _state(self) -> JSONObject:
        seen: list[JSONValue] = [list(key) for key in sorted(self._seen)]
        recent: list[JSONValue] = [list(r) for r in self._recent]
        return {
            "n": self._n,
            "low": self._low,
            "high": self._high,
            "quiet_until": self._quiet_until,
            "recent": recent,
            "seen": seen,
        }

    def _load_state(self, state: JSONObject) -> None:
        self._n = integer(state["n"])
        self._low = None if state["low"] is None else number(state["low"])
        self._high = None if state["high"] is None else number(state["high"])
        self._quiet_until = integer(state["quiet_until"])
        recent = state["recent"]
        seen = state["seen"]
        if not isinstance(recent, list) or len(recent) != len(self._recent):
            raise ValueError("context_novelty snapshot: 'recent' does not match the contexts")
        for target, levels in zip(self._recent, recent, strict=True):
            target.extend(_integers(levels))
        if not isinstance(seen, list):
            raise ValueError("context_novelty snapshot: 'seen' must be a list")
        self._seen = {tuple(_integers(key)) for key in seen}


def _level(value: float, low: float, high: float, bins: int) -> int:
    if high <= low:
        return 0
    return min(int((value - low) / (high - low) * bins), bins - 1)


def _integers(value: JSONValue) -> list[int]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of integers, got {type(value).__name__}")
    return [integer(v) for v in value]
