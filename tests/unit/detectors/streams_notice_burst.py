"""STUB: conformance streams for notice_burst (see the helper's assignment)."""

from __future__ import annotations

from .streams import SEASONAL_BASELINE, Streams

STREAMS: Streams = SEASONAL_BASELINE
