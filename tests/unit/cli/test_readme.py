"""The README's promises: its example events are valid, its commands exist."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tutka.models.deadletter import DeadLetter, Origin, decode

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    assert "\ndemo:" in makefile and "\ntest:" in makefile


def test_readme_example_events_are_valid() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    lines = block.group(1).strip().splitlines()
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        event = decode(line, Origin(source="readme", line=number), datetime.now(UTC))
        assert not isinstance(event, DeadLetter), event.summary  # type: ignore[union-attr]
