"""Liveness, readiness and metrics: what operators and orchestrators poll."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
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
def readyz(request: Request) -> JSONResponse:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None or not service.ready:
        return error(503, "not_ready", "model or index still loading")
    ready = getattr(service.detector, "ready", True)
    return JSONResponse(
        {
            "status": "ready",
            "index_size": len(service.index),
            # Snippets without `lang` wait for it while it loads (seconds after start-up).
            "language_detection": "ready" if ready else "loading",
        }
    )
