"""What every router shares: the service and settings of this app, access rules, and
parsing of the query parameters several routes take."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from app.http.auth import require
from app.http.schemas import RFC3339, ErrorOut
from app.settings import Settings
from app.validation import FieldError, NotJSON
from engine.errors import NotFound
from engine.service import Service
from language import validate_code


def get_service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise RuntimeError("service is not started")
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# Access per route (app/http/auth.py): reads, writes, and admin work such as re-index.
READ = [Depends(require("read", public="read"))]
WRITE = [Depends(require("write"))]
ADMIN = [Depends(require("admin"))]


def require_json(request: Request) -> None:
    """A body must come as JSON: another media type is refused (415), not read as
    missing (which hid the real mistake behind a 422)."""
    has_body = request.headers.get("content-length", "0") not in ("", "0") or (
        "chunked" in request.headers.get("transfer-encoding", "").lower()
    )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and not (media == "application/json" or media.endswith("+json")):
        raise NotJSON(
            "the body must be JSON sent with content-type: application/json "
            f"(got {media or 'no content-type'})"
        )


# Routes that take a body: writes and admin work.
WRITE_JSON = [*WRITE, Depends(require_json)]
ADMIN_JSON = [*ADMIN, Depends(require_json)]

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut}
    for status in (400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503)
}


def ids_in_range(request: Request) -> None:
    """Ids are handed out from 1; one below that or beyond signed 64 bits names nothing
    (and would reach storage or the index as a value they refuse: -1 pads FAISS results)."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue  # not a number: the route's own validation answers 422
            if not 1 <= number < 2**63:
                raise NotFound(f"{name.removesuffix('_id')} {value} not found")


def lang_param(lang: str | None) -> str | None:
    if lang is None:
        return None
    try:
        return validate_code(lang)
    except ValueError as exc:
        raise FieldError("lang", f"lang: {exc}") from exc


def limit_param(settings: Settings, limit: int) -> int:
    if limit > settings.max_page_size:
        raise FieldError("limit", f"limit must be at most {settings.max_page_size}", "too_large")
    return limit


def since_param(since: str | None) -> float | None:
    """RFC 3339 with an offset, as `published_at` (a bare number is refused, not guessed)."""
    if since is None:
        return None
    problem = "give an RFC 3339 time with an offset, like 2024-06-14T10:00:00Z"
    if not RFC3339.fullmatch(since):
        raise FieldError("since", f"since: {problem}")
    try:
        return datetime.fromisoformat(since).timestamp()
    except (ValueError, OverflowError) as exc:
        raise FieldError("since", f"since: {exc}; {problem}") from exc
