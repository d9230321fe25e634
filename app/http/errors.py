"""Every failure answers `{error: {code, message, field?}}` with a fitting 4xx/5xx status.

The one place where domain errors (engine/errors.py, validation) become statuses.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.validation import FieldError, NotJSON
from engine.errors import BadCursor, Conflict, Gone, JobConflict, NotFound, Overloaded

log = logging.getLogger(__name__)


def error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    kind = first.get("type", "invalid")
    if kind == "json_invalid":
        return error(400, "malformed_json", "request body is not valid JSON (UTF-8)")
    msg = "unknown field" if kind == "extra_forbidden" else first.get("msg", "invalid value")
    if kind == "missing" and not loc:
        msg = "a JSON request body is required"
    return error(422, kind, f"{field}: {msg}" if field else msg, field)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]

    @app.exception_handler(FieldError)
    def _field(_: Request, exc: FieldError) -> JSONResponse:
        return error(422, exc.code, exc.message, exc.field)

    @app.exception_handler(NotFound)
    def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, "not_found", str(exc))

    @app.exception_handler(Gone)
    def _gone(_: Request, exc: Gone) -> JSONResponse:
        return error(410, "gone", str(exc))

    @app.exception_handler(Conflict)
    def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return error(409, "conflict", str(exc), "external_id")

    @app.exception_handler(BadCursor)
    def _cursor(_: Request, exc: BadCursor) -> JSONResponse:
        return error(400, "bad_cursor", str(exc), "cursor")

    @app.exception_handler(NotJSON)
    def _not_json(_: Request, exc: NotJSON) -> JSONResponse:
        return error(415, "unsupported_media_type", str(exc))

    @app.exception_handler(JobConflict)
    def _job_running(_: Request, exc: JobConflict) -> JSONResponse:
        body = {"code": "job_running", "message": str(exc), "job_id": exc.job_id}
        return JSONResponse({"error": body}, status_code=409)

    @app.exception_handler(Overloaded)
    def _overloaded(_: Request, exc: Overloaded) -> JSONResponse:
        return error(503, "overloaded", str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":  # no route matched
            message = f"no such path: {request.url.path} (the API is described at /docs)"
        return error(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error(500, "internal", "internal error; the request was not applied, retry it")
