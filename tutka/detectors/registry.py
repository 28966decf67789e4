"""The catalogue of detector classes by name: how configuration and snapshots find them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tutka.detectors.base import BaseDetector, JSONObject, JSONValue
from tutka.detectors.bocpd import BOCPD
from tutka.detectors.context_novelty import ContextNovelty
from tutka.detectors.cusum import CUSUM
from tutka.detectors.divergence import ReferenceDivergence
from tutka.detectors.isolation_forest import IsolationForestOutlier
from tutka.detectors.notice_burst import NoticeBurst
from tutka.detectors.relative_shift import RelativeShift
from tutka.detectors.seasonal_baseline import SeasonalBaseline

# Any: the registry holds detectors of different input types; callers know which they asked for.
AnyDetector = BaseDetector[Any, Any]

DETECTORS: Final[dict[str, type[AnyDetector]]] = {
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


def detector_class(name: str) -> type[AnyDetector]:
    """The detector class registered as ``name``; ``ValueError`` naming the known ones."""
    try:
        return DETECTORS[name]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"unknown detector {name!r}; known: {known}") from None


def create(name: str, params: Mapping[str, JSONValue] | None = None) -> AnyDetector:
    """A fresh detector; bad hyperparameters raise a pydantic ``ValidationError`` here."""
    cls = detector_class(name)
    return cls(cls.Params.model_validate(dict(params or {})))


def restore(snapshot: JSONObject) -> AnyDetector:
    """The detector a snapshot describes, whatever its class; ``ValueError`` if it names none."""
    name = snapshot.get("detector")
    if not isinstance(name, str):
        raise ValueError("snapshot names no detector")
    return detector_class(name).from_snapshot(snapshot)
