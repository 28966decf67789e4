"""The detector protocol every algorithm implements (in the spirit of river's ``base`` module).

A detector is an online, single-series model. The pipeline calls :meth:`Detector.assess` on a new
observation *before* :meth:`Detector.update` folds it in (prequential evaluation). Hyperparameters
are a frozen pydantic model, so a bad value fails at start-up; state is small, bounded and
serialised as versioned JSON (it lives in Kafka changelogs and must survive deploys).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import (
    Any,
    ClassVar,
    Generic,
    NamedTuple,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

from pydantic import BaseModel, ConfigDict, Field

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

#: Scores are capped so that they stay finite and comparable (a p-value of 1e-50 is "certain").
MAX_SCORE = 50.0

X = TypeVar("X")
X_contra = TypeVar("X_contra", contravariant=True)
P = TypeVar("P", bound="DetectorParams")


class DetectorParams(BaseModel):
    """Hyperparameters shared by every detector; subclasses add their own."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    threshold: float = Field(gt=0, description="alarm when the score reaches this value")


class Assessment(NamedTuple):
    """What a detector thinks of one observation, before learning from it.

    ``baseline`` is what the detector expected, in the observation's own units, so evidence can
    say "12 400 unemployed where about 10 900 were expected". ``direction`` is +1 when the
    observation is above the baseline, -1 below, 0 when the detector is not ready. (A named
    tuple: a pipeline makes one per detector per observation, and a tuple is made in C.)
    """

    score: float
    baseline: float
    direction: int

    @staticmethod
    def quiet(baseline: float) -> Assessment:
        """A zero score at ``baseline``: what a detector says before it is ready."""
        # Without the named tuple's ``__new__`` (a Python function): most assessments are quiet.
        return tuple.__new__(Assessment, (0.0, baseline, 0))


@runtime_checkable
class Detector(Protocol[X_contra]):
    """The plug point between the pipeline and an algorithm."""

    name: ClassVar[str]

    def assess(self, x: X_contra) -> Assessment:
        """Score ``x`` against what was learnt so far, without learning it."""

    def score(self, x: X_contra) -> float:
        """The anomaly score of ``x`` (finite, non-negative); does not change state."""

    def alarm(self, x: X_contra) -> bool:
        """Whether ``x`` would raise an alarm now; does not change state."""

    def is_alarm(self, assessment: Assessment) -> bool:
        """Whether an assessment of this detector is an alarm (ready, threshold reached)."""

    def learn(self, x: X_contra) -> tuple[Assessment, bool]:
        """Assess ``x`` then learn it: the prequential step; returns the assessment and alarm."""

    def update(self, x: X_contra) -> None:
        """Learn ``x``."""

    @property
    def params(self) -> DetectorParams:
        """The hyperparameters (frozen); ``params.threshold`` is the detector's own threshold."""

    @property
    def ready(self) -> bool:
        """Whether enough has been learnt to score (a detector that is not ready never alarms)."""

    def snapshot(self) -> JSONObject:
        """The state as versioned JSON, from which the detector can be restored exactly."""


@runtime_checkable
class PooledDetector(Protocol):
    """A detector over many series at once: one feature vector per area, a whole release at a time.

    The engine's multivariate outlier stage scores every area of a level against one pooled model
    (:meth:`assess_many`), then teaches it the release (:meth:`update_many`).
    """

    name: ClassVar[str]

    def assess_many(self, xs: Sequence[tuple[float, ...]]) -> list[Assessment]:
        """Score every vector against what was learnt so far, without learning them."""

    def update_many(self, xs: Sequence[tuple[float, ...]]) -> None:
        """Learn every vector (one release)."""

    @property
    def params(self) -> DetectorParams:
        """The hyperparameters (frozen); ``params.threshold`` is the alarm threshold."""

    @property
    def ready(self) -> bool:
        """Whether enough has been learnt to score."""

    def snapshot(self) -> JSONObject:
        """The state as versioned JSON, from which the detector can be restored exactly."""


class BaseDetector(Generic[X, P]):
    """Shared plumbing: scoring via :meth:`assess`, alarms, versioned JSON snapshots.

    Subclasses set ``name``, ``Params`` and ``STATE_VERSION`` and implement ``assess``, ``update``,
    ``ready``, ``_state`` and ``_load_state``. ``assess`` must not change state.
    """

    name: ClassVar[str]
    Params: ClassVar[type[DetectorParams]]
    STATE_VERSION: ClassVar[int] = 1

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else self.Params.model_validate({})  # type: ignore[assignment]

    # -- the protocol ------------------------------------------------------------------------
    def assess(self, x: X) -> Assessment:
        """Score ``x`` without learning it; subclasses implement it without changing state."""
        raise NotImplementedError

    def update(self, x: X) -> None:
        """Learn ``x``; subclasses implement it."""
        raise NotImplementedError

    @property
    def ready(self) -> bool:
        """Whether enough has been learnt to score; subclasses implement it."""
        raise NotImplementedError

    def score(self, x: X) -> float:
        """``assess(x).score``."""
        return self.assess(x).score

    def alarm(self, x: X) -> bool:
        """Whether ``assess(x)`` raises an alarm (see :meth:`is_alarm`)."""
        return self.is_alarm(self.assess(x))

    def is_alarm(self, assessment: Assessment) -> bool:
        """Whether an assessment is an alarm: ready, and the score reaches ``threshold``."""
        return self.ready and assessment.score >= self.params.threshold

    def learn(self, x: X) -> tuple[Assessment, bool]:
        """Assess then update: the prequential step the pipeline runs for each observation."""
        assessment = self.assess(x)
        alarm = self.is_alarm(assessment)
        self.update(x)
        return assessment, alarm

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self) -> JSONObject:
        """The detector's name, state version, hyperparameters and state, as JSON."""
        return {
            "v": self.STATE_VERSION,
            "detector": self.name,
            "params": params_json(self.params),
            "state": self._state(),
        }

    @classmethod
    def restore(cls, params: P, state: JSONObject) -> Self:
        """A detector with ``params`` and the ``state`` part of a snapshot."""
        detector = cls(params)
        detector._load_state(state)
        return detector

    @classmethod
    def from_snapshot(cls, snapshot: JSONObject) -> Self:
        """The detector a :meth:`snapshot` describes; ``ValueError`` for another one or version."""
        if snapshot.get("detector") != cls.name:
            raise ValueError(f"snapshot is of {snapshot.get('detector')!r}, not {cls.name!r}")
        if snapshot.get("v") != cls.STATE_VERSION:
            raise ValueError(
                f"{cls.name} snapshot has version {snapshot.get('v')!r}; "
                f"this build reads version {cls.STATE_VERSION}"
            )
        params = cls.Params.model_validate(snapshot["params"])
        state = snapshot["state"]
        if not isinstance(state, dict):
            raise ValueError(f"{cls.name} snapshot state must be an object")
        return cls.restore(params, state)  # type: ignore[arg-type]

    def _state(self) -> JSONObject:
        raise NotImplementedError

    def _load_state(self, state: JSONObject) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


#: Hyperparameters as JSON, by the identity of the (frozen) params object that holds them.
_PARAMS_JSON: dict[int, tuple[DetectorParams, JSONObject]] = {}
_PARAMS_JSON_MAX = 1024


def params_json(params: DetectorParams) -> JSONObject:
    """``params.model_dump(mode="json")``, remembered.

    A pipeline snapshots detectors that share a few params objects millions of times. A fresh
    (shallow) copy each time: params are flat.
    """
    cached = _PARAMS_JSON.get(id(params))
    if cached is None or cached[0] is not params:
        if len(_PARAMS_JSON) >= _PARAMS_JSON_MAX:
            _PARAMS_JSON.clear()
        # The params object is kept with its JSON, so its id cannot be reused while cached.
        cached = _PARAMS_JSON[id(params)] = (params, params.model_dump(mode="json"))
    return dict(cached[1])


def json_roundtrip(snapshot: JSONObject) -> JSONObject:
    """What a snapshot looks like after a trip through a Kafka changelog."""
    loaded: Any = json.loads(json.dumps(snapshot, allow_nan=False))
    return loaded  # type: ignore[no-any-return]


def capped(score: float) -> float:
    """Keep scores finite and non-negative whatever the arithmetic did."""
    if math.isnan(score) or score < 0:
        return 0.0
    return min(score, MAX_SCORE)


def floats(value: JSONValue) -> list[float]:
    """Read a JSON list of numbers back as floats, rejecting anything else."""
    if not isinstance(value, list):
        raise ValueError(f"expected a list of numbers, got {type(value).__name__}")
    out: list[float] = []
    for item in value:
        if not isinstance(item, int | float) or isinstance(item, bool):
            raise ValueError(f"expected a number, got {item!r}")
        out.append(float(item))
    return out


def number(value: JSONValue) -> float:
    """Read a JSON number back as a float, rejecting anything else (booleans too)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def integer(value: JSONValue) -> int:
    """Read a JSON integer back, rejecting anything else (floats and booleans too)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
