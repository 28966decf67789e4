"""Notice intake: an analyst uploads an ELY centre's spreadsheet of layoff notices.

``POST /api/notices/imports?filename=…`` with the file itself as the body (``.xlsx`` or
``.csv``) and an ``Idempotency-Key`` header. The answer accounts for every row: accepted
(published), rejected (by line, with the reasons) and blank. ``GET
/api/notices/imports/{id}/rejected.csv`` gives the rejected rows back for fixing. See
:mod:`tutka.room.intake`.
"""

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from tutka.inputs.notice_sheet import SheetResult, rejected_csv
from tutka.room.auth import User, require
from tutka.room.context import Room
from tutka.room.intake import Upload, digest, import_id, validate_upload
from tutka.room.schemas import ERRORS, UPLOAD_ERRORS, NoticeUploadOut, Problem, RejectedRowOut

router = APIRouter()

#: The upload route: the only one whose body may exceed the room's usual limit.
UPLOAD_PATH: Final = "/api/notices/imports"

Language = Literal["fi", "sv", "en"]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key", pattern=r"^[A-Za-z0-9._:-]{8,128}$",
        description="one per upload (a UUID): a retry with the same key publishes nothing again",
    ),
]  # fmt: skip
FileName = Annotated[
    str,
    Query(
        pattern=r"(?i)^[^/\\]{1,200}\.(xlsx|xlsm|csv|txt)$",
        description="the uploaded file's name; its suffix says how to read it",
    ),
]

_SUMMARY: Final = {
    "fi": "{rows} riviä: {ok} ilmoitusta hyväksytty, {bad} riviä hylätty, {blank} tyhjää",
    "sv": "{rows} rader: {ok} anmälningar godkända, {bad} rader avvisade, {blank} tomma",
    "en": "{rows} rows: {ok} notices accepted, {bad} rows rejected, {blank} blank",
}
_BODY: Final = {
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string"}},
    },
    "required": True,
    "description": "the spreadsheet itself (.xlsx or .csv), one notice per row",
}


@router.post(UPLOAD_PATH, response_model=NoticeUploadOut, responses=UPLOAD_ERRORS,
             tags=["notices"], openapi_extra={"requestBody": _BODY})  # fmt: skip
async def upload_notices(
    room: Room,
    user: User,
    request: Request,
    filename: FileName,
    key: IdempotencyKey,
    lang: Language = "fi",
) -> NoticeUploadOut:
    """Validate a spreadsheet of layoff notices and publish the valid ones.

    Each row is validated with the same model the pipeline reads; a row outside your ELY area
    is rejected with that reason. Nothing is lost: accepted + rejected + blank = rows.
    """
    require(room, user, "submit_notices")
    if room.service.notices is None:
        raise HTTPException(503, "this room takes no notice uploads")
    raw = await request.body()  # (the body limit has already refused anything too large)
    return await run_in_threadpool(_upload, room, user.name, raw, filename, key, lang, user)


def _upload(room: Room, name: str, raw: bytes, filename: str, key: str, lang: Language,
            user: User) -> NoticeUploadOut:  # fmt: skip
    """The blocking part (reading, validating, publishing), under the key's lock."""
    service = room.service
    outlet = service.notices
    assert outlet is not None
    upload_id = import_id(name, key)
    content = digest(raw)
    with service.uploads.lock(upload_id):
        earlier = service.uploads.get(upload_id)
        if earlier is not None:
            if earlier.digest != content:
                raise HTTPException(409, "this Idempotency-Key was used for another file")
            service.metrics.notice_uploads.labels("repeated").inc()
            return _out(earlier, lang, repeated=True)
        try:
            result = validate_upload(raw, filename, user, room.hierarchy)
        except ValueError as exc:
            service.metrics.notice_uploads.labels("unreadable").inc()
            raise HTTPException(422, str(exc)) from exc
        try:
            if result.notices:
                outlet.publish([n for _, n in result.notices])
        except Exception as exc:  # the broker is away: say so; a retry with the key may send
            service.metrics.notice_uploads.labels("failed").inc()
            raise HTTPException(503, f"the notices could not be sent: {exc}") from exc
        metrics = service.metrics.notice_rows
        metrics.labels("accepted").inc(len(result.notices))
        metrics.labels("rejected").inc(len(result.rejected))
        metrics.labels("blank").inc(result.blank)
        service.metrics.notice_uploads.labels("published").inc()
        upload = Upload(upload_id, name, content, filename, result, outlet.where)
        service.uploads.add(upload)
        return _out(upload, lang, repeated=False)


def _out(upload: Upload, lang: Language, repeated: bool) -> NoticeUploadOut:
    result: SheetResult = upload.result
    return NoticeUploadOut(
        id=upload.id, filename=upload.filename, rows=result.rows,
        accepted=len(result.notices), rejected=len(result.rejected), blank=result.blank,
        published_to=upload.published_to, repeated=repeated,
        summary=_SUMMARY[lang].format(rows=result.rows, ok=len(result.notices),
                                      bad=len(result.rejected), blank=result.blank),
        ignored_columns=list(result.ignored_columns),
        missing_columns=list(result.missing_columns),
        rejected_rows=[
            RejectedRowOut(line=r.line, notice_id=r.notice_id,
                           reason="; ".join(getattr(x, lang) for x in r.reasons),
                           reasons=list(r.reasons))
            for r in result.rejected
        ],
    )  # fmt: skip


@router.get("/api/notices/imports/{upload_id}/rejected.csv",
            responses={**ERRORS, 404: {"model": Problem},
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "line, notice_id, reason_fi, reason_sv, reason_en"}},
            tags=["notices"], response_class=Response)  # fmt: skip
def rejected_rows(
    room: Room,
    user: User,
    upload_id: Annotated[str, PathParam(pattern=r"^imp-[0-9a-f]{16}$")],
) -> Response:
    """The rejected rows of one of your uploads as CSV (line, notice id, reasons in fi/sv/en)."""
    require(room, user, "submit_notices")
    upload = room.service.uploads.get(upload_id)
    if upload is None or upload.user != user.name:
        raise HTTPException(404, f"no upload {upload_id} of yours")
    stem = upload.filename.rsplit(".", 1)[0]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80] or "notices"
    return Response(
        rejected_csv(upload.result.rejected).encode("utf-8-sig"),  # a BOM: Excel reads UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}-rejected.csv"'},
    )
