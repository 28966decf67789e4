"""The monthly situation report as a PDF, for the view the picture shows."""

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query, Response

from tutka.room.auth import Filtered
from tutka.room.briefing import SECTIONS, briefing_of
from tutka.room.context import Room
from tutka.room.pdf import region_codes, render
from tutka.room.schemas import ERRORS

router = APIRouter()

_PDF: Final = {
    200: {
        "description": "The situation report of the view as a PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/api/report.pdf",
    response_class=Response,
    responses={**_PDF, **ERRORS},  # type: ignore[dict-item]
    tags=["picture"],
)
def report_pdf(
    room: Room,
    filtered: Filtered,
    lang: Annotated[Literal["fi", "sv", "en"], Query()] = "fi",
    sections: Annotated[
        int, Query(ge=0, le=50, description="alerts with a page of their own")
    ] = SECTIONS,
) -> Response:
    """The monthly situation report (tilannekatsaus, lägesbild) of the view: the map, the
    largest changes, and a page per alert with its explanation and chart. Same filters, scope
    and order as ``/api/picture``; nothing personal (no case work)."""
    user, view = filtered
    briefing = briefing_of(
        room.state,
        room.service.sectors,
        user,
        view,
        lang,
        region_codes(),
        datetime.now(UTC).date(),
        sections,
    )
    return Response(
        render(briefing),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{briefing.filename}"'},
    )
