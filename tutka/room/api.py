"""The situation room's HTTP shell: the JSON API (described by its OpenAPI document at
``/openapi.json``), the live stream, and the page's own static assets (no CDN).

FastAPI rather than aiohttp: the room is its own process, not part of the faust worker, so
staying on faust's aiohttp buys nothing, while FastAPI derives the OpenAPI document and the
422 answers to bad input from the same pydantic models the core already uses.

The parts: :mod:`~tutka.room.schemas` (request and response models), :mod:`~tutka.room.tokens`
and :mod:`~tutka.room.auth` (who is asking and what they may see), :mod:`~tutka.room.responses`
(bodies from the room's state) and the routers in :mod:`tutka.room.routers`. This module puts
them together.
"""

from collections.abc import Sequence

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from tutka.config.settings import RoomSettings, RoomUser, WebhookSettings
from tutka.room.context import RoomContext
from tutka.room.guard import AuthThrottle, BodyLimit, SecurityHeaders
from tutka.room.routers import alerts, notices, pages, picture, report, stream, subscriptions
from tutka.room.service import Service
from tutka.room.tokens import Staff


def create_app(
    service: Service,
    users: Sequence[RoomUser],
    webhook: WebhookSettings,
    settings: RoomSettings | None = None,
) -> FastAPI:
    """The room's app for ``service``, signing in ``users``, signing webhooks with ``webhook``;
    body limit and sign-in throttle from ``settings`` (the defaults when None)."""
    settings = settings if settings is not None else RoomSettings()
    app = FastAPI(
        title="Muutostutka situation room",
        version="1",
        description="Open alerts, case work and subscriptions. Every /api request carries "
        "`Authorization: Bearer <token>`; staff scoped to an ELY area see and act on the alerts "
        "under it only.",
        docs_url=None,  # the interactive docs load scripts from a CDN: not on an intranet
        redoc_url=None,
    )
    throttle = AuthThrottle(settings.auth_failures_per_minute)
    app.state.room = RoomContext(service, Staff.of(users), webhook, throttle)
    # Outermost last: headers on every answer, the 413 included; the limit before any route.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        larger={notices.UPLOAD_PATH: settings.max_upload_bytes},
    )
    app.add_middleware(SecurityHeaders)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    for part in (picture, alerts, report, subscriptions, notices, stream):
        app.include_router(part.router)

    @app.exception_handler(HTTPException)
    async def problem(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    return app
