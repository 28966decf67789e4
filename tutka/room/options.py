"""Command-line options shared by ``tutka room`` and ``tutka report``: where the alerts come from.

Both run files or the demo's market through the in-process pipeline first, and should read alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def pipeline_sources(func: F) -> F:
    """``--demo``, ``--replay PATH…`` (as ``replay_paths``) and ``--seed`` on a command."""
    options = [
        click.option(
            "--demo", is_flag=True, help="Use the demo's synthetic market (no broker, no files)."
        ),
        click.option(
            "--replay",
            "replay_paths",
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="Input files or directories to run through the in-process pipeline (repeatable).",
        ),
        click.option("--seed", default=7, show_default=True, help="Seed of the demo market."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
