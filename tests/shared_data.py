"""Where the read-only shared data lives: ``../shared`` beside the checkout, or
``$MUUTOSTUTKA_SHARED`` when the checkout sits elsewhere (e.g. a fresh clone in a temp dir)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUUTOSTUTKA_SHARED", ROOT.parent / "shared"))
SHARED_FI = SHARED / "data" / "fi"
SHARED_NAB = SHARED / "data" / "nab"
