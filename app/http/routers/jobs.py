"""The nightly re-index as a job, and job status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.http.deps import ADMIN, ADMIN_JSON, ERRORS, ServiceDep
from app.http.schemas import JobOut, ReindexIn
from engine.reindex.options import ReindexOptions

router = APIRouter(tags=["jobs"])


@router.post(
    "/v1/reindex",
    status_code=202,
    response_model=JobOut,
    responses=ERRORS,
    dependencies=ADMIN_JSON,
)
def start_reindex(service: ServiceDep, body: ReindexIn | None = None) -> dict[str, Any]:
    body = body or ReindexIn()
    options = ReindexOptions(model=body.model, window_days=body.window, dry_run=body.dry_run)
    return service.start_reindex(options)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS, dependencies=ADMIN)
def get_job(job_id: int, service: ServiceDep) -> dict[str, Any]:
    return service.get_job(job_id)
