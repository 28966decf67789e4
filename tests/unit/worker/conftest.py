"""The market every worker test runs, computed once."""

from __future__ import annotations

import pytest

from .market import Run


@pytest.fixture(scope="session")
def run() -> Run:
    """The market through a core processor, uninterrupted (read-only: tests must not change it)."""
    return Run.of_market()
