"""``tutka room`` serves the situation room; ``tutka room token`` makes a staff token."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import click
from rich.console import Console

from tutka.cli.context import load_context
from tutka.config.settings import RoomUser
from tutka.room.api import create_app
from tutka.room.options import pipeline_sources
from tutka.room.tokens import ephemeral_users, token_hash

console = Console(highlight=False)


@click.group("room", invoke_without_command=True)
@pipeline_sources
@click.option(
    "--kafka", is_flag=True, help="Follow a running worker's topics (TUTKA_KAFKA__BOOTSTRAP)."
)
@click.option("--host", help="Address to bind (default TUTKA_ROOM__HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default TUTKA_ROOM__PORT, 8080).")
@click.option(
    "--pace",
    type=float,
    help="Embedded: seconds to pause per monthly release, to watch the months unfold "
    "(default TUTKA_ROOM__PACE_SECONDS, 0).",
)
@click.option(
    "--ephemeral-tokens",
    is_flag=True,
    help="Mint random tokens for this run and print sign-in links (default with --demo when "
    "no users are configured). Never for production.",
)
@click.pass_context
def room_group(
    ctx: click.Context,
    demo: bool,
    replay_paths: tuple[Path, ...],
    kafka: bool,
    host: str | None,
    port: int | None,
    seed: int,
    pace: float | None,
    ephemeral_tokens: bool,
) -> None:
    """The situation room: the live picture of open alerts, case work and subscriptions.

    Exactly one source: --demo, --replay PATH… (both the in-process pipeline; case notes and
    subscriptions in local files under TUTKA_ROOM__DATA_DIR) or --kafka (alerts, case notes and
    subscriptions on the topics, shared by every room instance).
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from tutka.room.service import demo_inputs, embedded, on_kafka

    sources = sum((demo, bool(replay_paths), kafka))
    if sources != 1:
        raise click.UsageError("choose exactly one source: --demo, --replay PATH or --kafka")
    context = load_context(ctx)
    settings = context.settings
    users = list(settings.room.users)
    tokens: dict[str, str] = {}
    if ephemeral_tokens or (demo and not users):
        users, tokens = ephemeral_users()
    if not users:
        raise click.ClickException(
            "no staff configured: set TUTKA_ROOM__USERS (make an entry with "
            "'tutka room token NAME --role analyst --scope ELY15'), or pass --ephemeral-tokens "
            "for a throwaway session"
        )
    pace_seconds = settings.room.pace_seconds if pace is None else pace
    if kafka:
        service = on_kafka(settings, context.hierarchy, context.sectors)
    else:
        if demo:
            data_dir = settings.output_dir / "room-data"
            inputs = demo_inputs(data_dir, seed, context.synthetic_world)
            source = f"demo (seed {seed})"
        else:

            def inputs() -> list[Path]:
                return list(replay_paths)

            source = ", ".join(str(p) for p in replay_paths)
        world = context.synthetic_world if demo else context.hierarchy
        service = embedded(
            settings, world, context.catalogue, context.sectors, inputs, source, pace_seconds,
        )  # fmt: skip
    app = create_app(service, users, settings.webhook, settings.room)
    bind_host = host or settings.room.host
    bind_port = port or settings.room.port
    base = f"http://{bind_host}:{bind_port}/"
    console.print(
        f"[bold]Muutostutka situation room[/bold] on {base} ({service.state.status.source})"
    )
    for name, token in tokens.items():
        console.print(f"  {name:<22} {base}#token={token}", soft_wrap=True)
    if tokens:
        console.print(
            "  (throwaway tokens for this run only; configure TUTKA_ROOM__USERS for real use)"
        )
    try:
        # Open live streams never end by themselves: a stop waits for them this long at most.
        uvicorn.run(
            app, host=bind_host, port=bind_port, log_level="warning", timeout_graceful_shutdown=3
        )
    finally:
        service.close()


@room_group.command("token")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["viewer", "analyst", "admin"]), default="viewer", show_default=True
)
@click.option("--scope", default="SSS", show_default=True, help="ELY01…ELY19, or SSS (national).")
@click.option("--organisation", default="", help="National staff's body (TEM, KEHA).")
def token_command(name: str, role: str, scope: str, organisation: str) -> None:
    """Make a token for one member of staff: give them the token, add the entry to settings."""
    token = secrets.token_urlsafe(32)
    user = RoomUser(
        name=name, role=role, scope=scope, organisation=organisation,
        token_sha256=token_hash(token),
    )  # fmt: skip
    console.print(f"token (give it to {name}; it is not stored anywhere): {token}", soft_wrap=True)
    console.print("settings entry (add it to the JSON list in TUTKA_ROOM__USERS):")
    console.print(json.dumps(user.model_dump(mode="json"), ensure_ascii=False), soft_wrap=True)
