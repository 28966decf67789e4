"""What is not the JSON API: the page (its assets are mounted from :data:`STATIC`), the health
probe and the Prometheus metrics."""

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tutka.room.context import Room
from tutka.room.responses import status_out

#: The page's own assets (no CDN).
STATIC: Final = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
@router.get("/alerts/{alert_id}", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/healthz", include_in_schema=False)
def healthz(room: Room) -> dict[str, object]:
    return {"ok": room.state.status.error is None, "ready": room.state.status.ready}


@router.get("/metrics", include_in_schema=False)
def metrics(room: Room) -> Response:
    status_out(room)
    room.service.metrics.streams.set(room.state.listeners)
    return Response(generate_latest(room.service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
