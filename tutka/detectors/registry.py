"""The catalogue of detector classes by name: how configuration and snapshots find them.

The pipeline reaches detectors only through the protocols of :mod:`tutka.detectors.base` and the
typed look-ups here: a series' detectors as :class:`~tutka.detectors.base.Detector`, the notice
detector as a ``Detector[NoticeTally]``, the pooled outlier detector as a
:class:`~tutka.detectors.base.PooledDetector`. A name configured for a part it cannot play is a
``ValueError`` naming the ones that can, not a failed assertion later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tutka.detectors.base import (
    BaseDetector,
    Detector,
    DetectorParams,
    JSONObject,
    JSONValue,
    PooledDetector,
)
from tutka.detectors.bocpd import BOCPD
from tutka.detectors.context_novelty import ContextNovelty
from tutka.detectors.cusum import CUSUM
from tutka.detectors.divergence import ReferenceDivergence
from tutka.detectors.isolation_forest import IsolationForestOutlier
from tutka.detectors.notice_burst import NoticeBurst, NoticeTally
from tutka.detectors.relative_shift import RelativeShift
from tutka.detectors.seasonal_baseline import SeasonalBaseline

#: A detector of any input: a series' detectors take numbers, divergence or share points.
AnyDetector = Detector[Any]
#: The class behind a name (its ``Params``, its constructor, its ``from_snapshot``).
DetectorClass = type[BaseDetector[Any, Any]]

DETECTORS: Final[dict[str, DetectorClass]] = {
    cls.name: cls
    for cls in (
        SeasonalBaseline,
        CUSUM,
        BOCPD,
        NoticeBurst,
        ReferenceDivergence,
        IsolationForestOutlier,
        ContextNovelty,
        RelativeShift,
    )
}
#: Detectors that judge a month's tally of layoff notices (``NoticeTally``).
NOTICE_DETECTORS: Final = frozenset({NoticeBurst.name})
#: Detectors that judge every area of a level at once (``PooledDetector``).
POOLED_DETECTORS: Final = frozenset({IsolationForestOutlier.name})


def detector_class(name: str) -> DetectorClass:
    """The detector class registered as ``name``; ``ValueError`` naming the known ones."""
    try:
        return DETECTORS[name]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"unknown detector {name!r}; known: {known}") from None


def params_for(name: str, values: Mapping[str, JSONValue] | None = None) -> DetectorParams:
    """Detector ``name``'s hyperparameters; a bad value raises a pydantic ``ValidationError``."""
    return detector_class(name).Params.model_validate(dict(values or {}))


def build(name: str, params: DetectorParams) -> AnyDetector:
    """A fresh detector ``name`` with hyperparameters already validated by :func:`params_for`."""
    return detector_class(name)(params)


def create(name: str, params: Mapping[str, JSONValue] | None = None) -> AnyDetector:
    """A fresh detector; bad hyperparameters raise a pydantic ``ValidationError`` here."""
    return build(name, params_for(name, params))


def restore(snapshot: JSONObject) -> AnyDetector:
    """The detector a snapshot describes, whatever its class; ``ValueError`` if it names none."""
    return detector_class(_named(snapshot)).from_snapshot(snapshot)


def notice_detector(
    name: str, params: Mapping[str, JSONValue] | None = None
) -> Detector[NoticeTally]:
    """A fresh detector of notice tallies; ``ValueError`` if ``name`` is not one.

    >>> notice_detector("notice_burst").name
    'notice_burst'
    >>> notice_detector("cusum")
    Traceback (most recent call last):
    ...
    ValueError: detector 'cusum' cannot judge notice tallies; known: notice_burst
    """
    return _series_like(create(_in_role(name, NOTICE_DETECTORS, "judge notice tallies"), params))


def restore_notice_detector(snapshot: JSONObject) -> Detector[NoticeTally]:
    """The notice detector a snapshot describes; ``ValueError`` if it describes another kind."""
    name = _in_role(_named(snapshot), NOTICE_DETECTORS, "judge notice tallies")
    return _series_like(detector_class(name).from_snapshot(snapshot))


def pooled_detector(name: str, params: Mapping[str, JSONValue] | None = None) -> PooledDetector:
    """A fresh detector over many series at once; ``ValueError`` if ``name`` is not one."""
    return _pooled(create(_in_role(name, POOLED_DETECTORS, "judge areas pooled"), params))


def restore_pooled_detector(snapshot: JSONObject) -> PooledDetector:
    """The pooled detector a snapshot describes; ``ValueError`` if it describes another kind."""
    name = _in_role(_named(snapshot), POOLED_DETECTORS, "judge areas pooled")
    return _pooled(detector_class(name).from_snapshot(snapshot))


def _named(snapshot: JSONObject) -> str:
    name = snapshot.get("detector")
    if not isinstance(name, str):
        raise ValueError("snapshot names no detector")
    return name


def _in_role(name: str, role: frozenset[str], part: str) -> str:
    detector_class(name)  # an unknown name says so first
    if name not in role:
        raise ValueError(f"detector {name!r} cannot {part}; known: {', '.join(sorted(role))}")
    return name


def _series_like(detector: object) -> Detector[Any]:
    if not isinstance(detector, Detector):
        raise TypeError(f"{type(detector).__name__} does not implement the Detector protocol")
    return detector


def _pooled(detector: object) -> PooledDetector:
    if not isinstance(detector, PooledDetector):
        raise TypeError(f"{type(detector).__name__} does not implement the PooledDetector protocol")
    return detector
