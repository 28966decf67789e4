"""STUB: to be implemented (see the helper's assignment)."""

from __future__ import annotations

from typing import ClassVar

from detectors.base import BaseDetector, DetectorParams


class IsolationForestOutlierParams(DetectorParams):
    pass


class IsolationForestOutlier(BaseDetector[float, IsolationForestOutlierParams]):
    name: ClassVar[str] = "isolation_forest"
    Params: ClassVar[type[DetectorParams]] = IsolationForestOutlierParams
