"""What every request handler of the room reaches: the service, its staff and webhook settings.

:func:`tutka.room.api.create_app` stores a :class:`RoomContext` on ``app.state``; handlers take it
as a dependency (``room: Room``), so the routers are plain module-level ``APIRouter`` objects.
"""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from tutka.config.settings import WebhookSettings
from tutka.models.areas import Hierarchy
from tutka.room.guard import AuthThrottle
from tutka.room.service import Service
from tutka.room.state import RoomState
from tutka.room.tokens import Staff


@dataclass(frozen=True)
class RoomContext:
    """The service behind one app, who may sign in, and the key webhooks are signed with."""

    service: Service
    staff: Staff
    webhook: WebhookSettings
    throttle: AuthThrottle = field(default_factory=lambda: AuthThrottle(30))

    @property
    def state(self) -> RoomState:
        return self.service.state

    @property
    def hierarchy(self) -> Hierarchy:
        return self.service.state.hierarchy


def room_context(request: Request) -> RoomContext:
    context: RoomContext = request.app.state.room
    return context


Room = Annotated[RoomContext, Depends(room_context)]
