"""Lazy subcommands: ``tutka --help`` imports none of them, and says what they say themselves."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

import tutka.cli.lazy
from tutka.cli import BENCH_COMMANDS, COMMANDS, DEV_COMMANDS, cli
from tutka.cli.lazy import LazyCommand

#: Modules that only some subcommands need; ``tutka --help`` must load none of them.
HEAVY = (
    "sklearn",
    "numpy",
    "fastapi",
    "starlette",
    "uvicorn",
    "faust",
    "kafka",
    "matplotlib",
    "prometheus_client",
    "httpx",
    "pydantic",
    "rich",
    "tutka.config",
    "tutka.streams",
    "tutka.detectors",
)

LOADED_BY_HELP = """
import json, sys
from tutka.cli import main
sys.argv = ["tutka", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_by(*args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", LOADED_BY_HELP, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["dev", "--help"], []])
def test_help_of_the_groups_imports_no_subcommand(args: list[str]) -> None:
    loaded = _loaded_by(*args)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []
    commands = {c.target.partition(":")[0] for c in (*COMMANDS.values(), *BENCH_COMMANDS.values())}
    assert not commands & loaded


def _every_lazy_command() -> Iterator[tuple[str, LazyCommand]]:
    for prefix, table in (("", COMMANDS), ("bench ", BENCH_COMMANDS), ("dev ", DEV_COMMANDS)):
        for name, lazy in table.items():
            yield prefix + name, lazy


@pytest.mark.parametrize(("name", "lazy"), list(_every_lazy_command()))
def test_the_recorded_help_line_is_the_commands_own(name: str, lazy: LazyCommand) -> None:
    command = lazy.load()
    assert command.name == name.split()[-1]
    assert lazy.short_help == command.get_short_help_str(limit=1000)


def _walk(group: click.Group, path: list[str]) -> Iterator[list[str]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, [*path, name]
        yield [*path, name]
        if isinstance(command, click.Group):
            yield from _walk(command, [*path, name])


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = list(_walk(cli, []))
    assert ["dev", "kafka", "start"] in paths and ["bench", "room"] in paths
    assert ["kafka"] not in paths  # the local broker is under `tutka dev`
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert f"Usage: cli {' '.join(path)} [OPTIONS]" in result.output


def test_the_listing_matches_what_loaded_commands_say() -> None:
    """The group's help, from the recorded lines, is what click prints for loaded commands."""
    plain = click.Group("cli", commands={name: lazy.load() for name, lazy in COMMANDS.items()})
    plain.add_command(cli.commands["bench"])
    plain.add_command(cli.commands["dev"])
    listing = CliRunner().invoke(cli, ["--help"], terminal_width=100).output
    expected = CliRunner().invoke(plain, ["--help"], terminal_width=100).output
    assert listing.split("Commands:")[1] == expected.split("Commands:")[1]


def test_an_unknown_command_is_refused_as_before() -> None:
    result = CliRunner().invoke(cli, ["kafka", "start"])
    assert result.exit_code == 2 and "No such command 'kafka'" in result.output


def test_doctests() -> None:
    assert doctest.testmod(tutka.cli.lazy).failed == 0
