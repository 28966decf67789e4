"""The live stream: server-sent events telling the page what changed in its user's scope."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from tutka.room.auth import User
from tutka.room.context import Room
from tutka.room.schemas import ERRORS

HEARTBEAT_SECONDS: Final = 15.0

router = APIRouter()


@router.get(
    "/api/stream",
    responses=ERRORS,
    tags=["picture"],
    response_class=Response,
    response_description="text/event-stream: alert, case, subscriptions, status",
)
async def stream(room: Room, user: User, request: Request) -> EventSourceResponse:
    """Server-sent events: what changed (in your scope), for the page to fetch again."""
    state, metrics = room.state, room.service.metrics
    listener = state.listen(user)
    metrics.streams.set(state.listeners)

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "hello", "data": json.dumps({"user": user.name})}
            while True:
                try:
                    message = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    continue
                if listener.overflowed:
                    listener.overflowed = False
                    yield {"event": "resync", "data": "{}"}
                yield {"event": message["type"], "data": json.dumps(message)}
        finally:
            state.forget(listener)
            metrics.streams.set(state.listeners)

    return EventSourceResponse(events(), ping=HEARTBEAT_SECONDS)
