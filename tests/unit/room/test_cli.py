"""``tutka room``: no default token, one source at a time; ``room token`` makes working entries."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tutka.cli import cli
from tutka.config.settings import RoomUser, Settings


def test_the_room_refuses_to_start_without_staff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUTKA_ROOM__USERS", raising=False)
    result = CliRunner().invoke(cli, ["room", "--replay", str(tmp_path)])
    assert result.exit_code != 0
    assert "no staff configured" in result.output and "TUTKA_ROOM__USERS" in result.output


@pytest.mark.parametrize("args", [[], ["--demo", "--kafka"], ["--demo", "--replay", "."]])
def test_the_room_needs_exactly_one_source(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["room", *args])
    assert result.exit_code == 2 and "exactly one source" in result.output


def test_a_token_entry_works_in_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["room", "token", "Aino Virtanen", "--role", "analyst",
                                      "--scope", "ELY15"], terminal_width=400)  # fmt: skip
    assert result.exit_code == 0, result.output
    token = re.search(r"it is not stored anywhere\): (\S+)", result.output)
    entry = json.loads(result.output.strip().splitlines()[-1])
    assert token is not None and len(token.group(1)) >= 40
    assert entry["token_sha256"] == hashlib.sha256(token.group(1).encode()).hexdigest()
    monkeypatch.setenv("TUTKA_ROOM__USERS", json.dumps([entry]))
    users = Settings().room.users
    assert users == [RoomUser(**entry)] and users[0].scope == "ELY15"


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "x", "role": "root", "token_sha256": "0" * 64},
        {"name": "x", "role": "viewer", "scope": "ELY20", "token_sha256": "0" * 64},
        {"name": "x", "role": "viewer", "token": "plain-text-token"},
    ],
)
def test_bad_staff_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, entry: dict[str, str]
) -> None:
    monkeypatch.setenv("TUTKA_ROOM__USERS", json.dumps([entry]))
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.slow
def test_bench_room_measures_the_api_and_the_live_streams() -> None:
    result = CliRunner().invoke(
        cli,
        ["bench", "room", "--alerts", "300", "--streams", "3", "--new", "4", "--requests", "3"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "GET /api/picture" in result.output and "new alert" in result.output
    assert "12 of 12 stream messages arrived" in result.output
