"""STUB: to be implemented (see the helper's assignment)."""

from __future__ import annotations

from typing import ClassVar

from detectors.base import BaseDetector, DetectorParams


class NoticeBurstParams(DetectorParams):
    pass


class NoticeBurst(BaseDetector[float, NoticeBurstParams]):
    name: ClassVar[str] = "notice_burst"
    Params: ClassVar[type[DetectorParams]] = NoticeBurstParams
