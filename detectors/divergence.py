"""STUB: to be implemented (see the helper's assignment)."""

from __future__ import annotations

from typing import ClassVar

from detectors.base import BaseDetector, DetectorParams


class ReferenceDivergenceParams(DetectorParams):
    pass


class ReferenceDivergence(BaseDetector[float, ReferenceDivergenceParams]):
    name: ClassVar[str] = "divergence"
    Params: ClassVar[type[DetectorParams]] = ReferenceDivergenceParams
