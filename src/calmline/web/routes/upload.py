"""The upload API: ``POST /api/upload`` takes a session folder from ``calmline upload``.

No cookie and no form from a page: the learner's upload token comes as a bearer token
(so there is nothing for CSRF to forge), and every answer is JSON with an ``error``
line the client prints as it is. ``GET /api/upload`` tells a token holder the size
limit before anything is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from calmline.errors import CalmlineError
from calmline.upload.files import MAX_FILES, UPLOAD_PATH, max_upload_bytes
from calmline.web.routes.deps import state
from calmline.web.upload_tokens import token_owner
from calmline.web.uploads import UploadPart, UploadRejected, store_upload

router = APIRouter()
BAD_TOKEN = (
    "the upload token was not accepted (missing, mistyped or revoked): "
    "ask your trainer for a new one"
)


def error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _owner(factory: sessionmaker[Session], token: str | None) -> str | None:
    """The token owner's name (checked before the body is read), noting the token's use."""
    with factory() as db:
        owner = token_owner(db, token)
        if owner is None:
            return None
        db.commit()
        return owner.name


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@router.get(UPLOAD_PATH)
async def upload_limits(request: Request) -> Response:
    """The limits, for a token holder: the client checks its folders against them first."""
    if await run_in_threadpool(_owner, state(request).factory, _bearer(request)) is None:
        return error(401, BAD_TOKEN)
    return JSONResponse({"max_bytes": max_upload_bytes(), "max_files": MAX_FILES})


@router.post(UPLOAD_PATH)
async def upload(request: Request) -> Response:
    app = state(request)
    owner_name = await run_in_threadpool(_owner, app.factory, _bearer(request))
    if owner_name is None:
        return error(401, BAD_TOKEN)
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=8)
    except StarletteHTTPException as exc:  # too many files, a malformed multipart body
        return error(400, f"the upload is not a readable form: {exc.detail}")
    try:
        parts = [
            UploadPart(value.filename or "", value.file)
            for _key, value in form.multi_items()
            if isinstance(value, UploadFile)
        ]
        if not parts:
            return error(400, "the upload has no files")
        with app.factory() as db:
            result = await run_in_threadpool(
                store_upload, db, app.settings.recordings, owner_name, parts
            )
    except UploadRejected as exc:
        return error(exc.status, exc.message)
    except CalmlineError as exc:
        return error(500, f"the server could not store the session: {exc.message}")
    finally:
        await form.close()
    return JSONResponse(
        {
            "id": result.session_id,
            "status": result.status,
            "learner": owner_name,
            "url": f"/sessions/{result.session_id}",
        },
        status_code=201 if result.status == "stored" else 200,
    )
