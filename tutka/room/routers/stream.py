"""The live stream: server-sent events telling the page what changed in its user's scope."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from tutka.models.access import Principal
from tutka.room.auth import User
from tutka.room.context import Room, RoomContext
from tutka.room.routers.subscriptions import visible_subscription
from tutka.room.schemas import ERRORS

HEARTBEAT_SECONDS: Final = 15.0

router = APIRouter()


def scoped_message(room: RoomContext, user: Principal, message: dict[str, Any]) -> dict[str, Any]:
    """``message`` as ``user`` may see it: a subscription change names the subscription only to
    those who may see it (its organisation, national staff); others learn only that the list
    changed. (Alert and case messages are filtered by area before they are queued.)"""
    if message.get("type") != "subscriptions" or "id" not in message:
        return message
    subscription = room.state.book().subscriptions.get(message["id"])
    if subscription is not None and visible_subscription(user, subscription):
        return message
    if subscription is None and user.national:
        return message  # a removal: national staff saw it before
    return {key: value for key, value in message.items() if key != "id"}


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
                message = scoped_message(room, user, message)
                yield {"event": message["type"], "data": json.dumps(message)}
        finally:
            state.forget(listener)
            metrics.streams.set(state.listeners)

    return EventSourceResponse(events(), ping=HEARTBEAT_SECONDS)
