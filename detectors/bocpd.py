"""STUB: to be implemented (see the helper's assignment)."""

from __future__ import annotations

from typing import ClassVar

from detectors.base import BaseDetector, DetectorParams


class BOCPDParams(DetectorParams):
    pass


class BOCPD(BaseDetector[float, BOCPDParams]):
    name: ClassVar[str] = "bocpd"
    Params: ClassVar[type[DetectorParams]] = BOCPDParams
