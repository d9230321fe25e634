"""Liveness, readiness and metrics: what operators and orchestrators poll."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from app.http.auth import require
from app.http.errors import error
from app.http.schemas import ErrorOut
from engine.service import Service

router = APIRouter()


@router.get(
    "/metrics",
    include_in_schema=False,
    dependencies=[Depends(require("read", public="metrics"))],
)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(
    request: Request,
    full: Annotated[
        bool,
        Query(description="Also wait for language detection: 503 until every request is served."),
    ] = False,
) -> JSONResponse:
    """200 once the model and the index are loaded: reads, and snippets that name their
    `lang`, are served at once. `language_detection` says whether snippets without `lang`
    are too (they wait while it is `loading`, seconds after start-up); `?full=true`
    answers 503 until they are."""
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None or not service.ready:
        return error(503, "not_ready", "model or index still loading")
    ready = getattr(service.detector, "ready", True)
    if full and not ready:
        return error(
            503, "not_ready", "language detection still loading (snippets without lang wait)"
        )
    return JSONResponse(
        {
            "status": "ready",
            "index_size": len(service.index),
            "language_detection": "ready" if ready else "loading",
        }
    )
