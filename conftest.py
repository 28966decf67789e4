"""Pytest settings for the whole checkout: tests in ``tests/``, doctests in ``tutka/``.

Test functions carry their ``slow`` marker themselves; doctests cannot, so the few that take
seconds are named here. They still run in ``make test``; ``make fast`` leaves them out.
"""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem

#: Module doctests that take seconds (the isolation forest fits 100 trees a few times; its
#: fast unit tests stay in the fast loop).
SLOW_DOCTESTS = frozenset({"tutka.detectors.isolation_forest"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marker must already be there
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the doctests of :data:`SLOW_DOCTESTS` as ``slow``."""
    for item in items:
        if isinstance(item, DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
