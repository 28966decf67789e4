"""STUB: conformance streams for bocpd (see the helper's assignment)."""

from __future__ import annotations

from .streams import SEASONAL_BASELINE, Streams

STREAMS: Streams = SEASONAL_BASELINE
