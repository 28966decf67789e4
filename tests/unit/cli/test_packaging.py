"""The wheel installs exactly one top-level package, ``tutka`` (issue 13).

Built from a copy of the sources beside a ``tutka-out/`` directory, the default output of
``make demo``: a loose ``include = ["tutka*"]`` once let that directory into ``top_level.txt``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def test_the_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "tutka", source / "tutka",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (source / "tutka-out" / "backtest").mkdir(parents=True)
    (source / "tutka-out" / "backtest" / "alerts.jsonl").write_text("{}\n")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["tutka"]
    roots = {name.split("/", 1)[0] for name in names}
    assert {r for r in roots if not r.endswith(".dist-info")} == {"tutka"}
    assert "tutka/room/static/index.html" in names
