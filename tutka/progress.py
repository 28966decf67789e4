"""A progress bar around a replay, shared by the commands that replay files."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tutka.replay import Progress as ReplayProgress

R = TypeVar("R")


def with_replay_progress(
    run: Callable[[ReplayProgress | None], R],
    console: Console,
    quiet: bool,
    title: str = "replaying",
) -> R:
    """Call ``run`` with a callback drawing a transient bar titled ``title`` on ``console``
    (none if quiet)."""
    if quiet:
        return run(None)
    with Progress(
        TextColumn(f"[bold]{title}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(progress)
