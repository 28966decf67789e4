"""STUB: to be implemented (see the helper's assignment)."""

from __future__ import annotations

from typing import ClassVar

from detectors.base import BaseDetector, DetectorParams


class CUSUMParams(DetectorParams):
    pass


class CUSUM(BaseDetector[float, CUSUMParams]):
    name: ClassVar[str] = "cusum"
    Params: ClassVar[type[DetectorParams]] = CUSUMParams
