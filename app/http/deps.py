"""What every router shares: the service and settings of this app, access rules, and
parsing of the query parameters several routes take."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from app.http.auth import require
from app.http.schemas import ErrorOut
from app.settings import Settings
from app.validation import FieldError
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

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 410, 413, 422, 429, 503)
}


def ids_in_range(request: Request) -> None:
    """A path id beyond signed 64 bits names nothing; storage would overflow on it."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue  # not a number: the route's own validation answers 422
            if not -(2**63) <= number < 2**63:
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


def since_param(since: datetime | None) -> float | None:
    """Naive times are read as local; some (year 1) then fall outside the epoch's range."""
    if since is None:
        return None
    try:
        return since.timestamp()
    except (ValueError, OverflowError) as exc:
        raise FieldError("since", f"since: {exc}; give an RFC 3339 time with an offset") from exc
