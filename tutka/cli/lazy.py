"""Subcommands loaded on demand, so that ``tutka --help`` imports none of their dependencies.

Click's documented lazy-loading pattern (a :class:`click.Group` whose ``get_command`` imports a
subcommand only when it is asked for), plus one step further: a group's own ``--help`` lists its
subcommands with the one-line help recorded here, so listing them loads none of them either.
``tests/unit/cli/test_lazy.py`` checks that every recorded line is the command's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from click.utils import make_default_short_help


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a subcommand is defined (``"package.module:attribute"``) and its one-line help."""

    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported the first time they are resolved.

    >>> group = LazyGroup("tools", lazy_subcommands={
    ...     "demo": LazyCommand("tutka.cli.demo:demo_command", "Generate a market and report.")
    ... })
    >>> group.list_commands(click.Context(group))
    ['demo']
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: Mapping[str, LazyCommand] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands: Mapping[str, LazyCommand] = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_subcommands.get(cmd_name)
        return super().get_command(ctx, cmd_name) if lazy is None else lazy.load()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As :meth:`click.Group.format_commands`, with the recorded help of lazy subcommands."""
        entries: list[tuple[str, LazyCommand | click.Command]] = []
        for name in self.list_commands(ctx):
            lazy = self.lazy_subcommands.get(name)
            command = lazy or super().get_command(ctx, name)
            if command is not None and not (isinstance(command, click.Command) and command.hidden):
                entries.append((name, command))
        if not entries:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in entries)
        rows = [
            (
                name,
                make_default_short_help(entry.short_help, limit)
                if isinstance(entry, LazyCommand)
                else entry.get_short_help_str(limit),
            )
            for name, entry in entries
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
