"""Where the read-only shared data lives: ``../shared`` beside the checkout, or
``$MUUTOSTUTKA_SHARED`` when the checkout sits elsewhere (e.g. a fresh clone in a temp dir)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUUTOSTUTKA_SHARED", ROOT.parent / "shared"))
SHARED_FI = SHARED / "data" / "fi"
SHARED_NAB = SHARED / "data" / "nab"
SHARED_US = SHARED / "data" / "us"

#: The marks of a module that runs a US script over WARN + LAUS (slow, and only with the data).
US_MARKS = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SHARED_US / "warn").exists(), reason=f"shared data {SHARED_US} is absent"
    ),
]


def script(name: str) -> ModuleType:
    """``scripts/<name>.py`` loaded as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
