"""Routes: each translates one request into one service call."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from app.http.auth import require
from app.http.errors import error
from app.http.schemas import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    DeletedOut,
    ErrorOut,
    JobOut,
    ReindexIn,
    SearchOut,
    SnippetIn,
    SnippetOut,
    SnippetView,
    StoryPage,
    StoryView,
)
from app.jobs import JobConflict
from app.reader import NotFound
from app.records import Incoming
from app.reindex.options import ReindexOptions
from app.service import Service
from app.validation import FieldError, parse_item, to_incoming
from language import validate_code


def _ids_in_range(request: Request) -> None:
    """A path id beyond signed 64 bits names nothing; storage would overflow on it."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue  # not a number: the route's own validation answers 422
            if not -(2**63) <= number < 2**63:
                raise NotFound(f"{name.removesuffix('_id')} {value} not found")


router = APIRouter(dependencies=[Depends(_ids_in_range)])
ERRORS = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    410: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
    503: {"model": ErrorOut},
}
# Access per route (app/http/auth.py): reads, writes, and admin work such as re-index.
READ = [Depends(require("read", public="read"))]
WRITE = [Depends(require("write"))]
ADMIN = [Depends(require("admin"))]


def get_service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise RuntimeError("service is not started")
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def _lang(lang: str | None) -> str | None:
    if lang is None:
        return None
    try:
        return validate_code(lang)
    except ValueError as exc:
        raise FieldError("lang", f"lang: {exc}") from exc


def _limit(service: Service, limit: int) -> int:
    if limit > service.settings.max_page_size:
        raise FieldError(
            "limit", f"limit must be at most {service.settings.max_page_size}", "too_large"
        )
    return limit


def _since(since: datetime | None) -> float | None:
    """Naive times are read as local; some (year 1) then fall outside the epoch's range."""
    if since is None:
        return None
    try:
        return since.timestamp()
    except (ValueError, OverflowError) as exc:
        raise FieldError("since", f"since: {exc}; give an RFC 3339 time with an offset") from exc


@router.post(
    "/v1/snippets", status_code=201, response_model=SnippetOut, responses=ERRORS, dependencies=WRITE
)
async def post_snippet(body: SnippetIn, service: ServiceDep) -> SnippetOut:
    item = to_incoming(body, service.settings)
    (outcome,) = await asyncio.wrap_future(service.submit([item]))
    return SnippetOut(**outcome.__dict__)


@router.post("/v1/snippets/batch", response_model=BatchOut, responses=ERRORS, dependencies=WRITE)
async def post_batch(body: BatchIn, service: ServiceDep) -> BatchOut | JSONResponse:
    limit = service.settings.max_batch_items
    if len(body.snippets) > limit:
        return error(
            413,
            "too_many",
            f"a batch holds at most {limit} snippets; got {len(body.snippets)}",
            "snippets",
        )
    results: list[BatchItemOut] = []
    good: list[tuple[int, Incoming]] = []
    for i, raw in enumerate(body.snippets):
        try:
            good.append((i, parse_item(raw, service.settings)))
            results.append(BatchItemOut())
        except FieldError as exc:
            results.append(
                BatchItemOut(error={"code": exc.code, "message": exc.message, "field": exc.field})
            )
    if good:
        outcomes = await asyncio.wrap_future(service.submit([item for _, item in good]))
        for (i, _), outcome in zip(good, outcomes, strict=True):
            results[i] = BatchItemOut(**outcome.__dict__)
    return BatchOut(results=results)


@router.get(
    "/v1/snippets/{snippet_id}", response_model=SnippetView, responses=ERRORS, dependencies=READ
)
def get_snippet(snippet_id: int, service: ServiceDep) -> dict:
    return service.get_snippet(snippet_id)


@router.put(
    "/v1/snippets/{snippet_id}", response_model=SnippetOut, responses=ERRORS, dependencies=WRITE
)
async def put_snippet(snippet_id: int, body: SnippetIn, service: ServiceDep) -> SnippetOut:
    """Replace text or metadata; the snippet is re-assigned under the same id. Omitted
    `external_id` and `published_at` keep their stored values."""
    item = to_incoming(body, service.settings)
    outcome = await asyncio.wrap_future(service.replace_snippet(snippet_id, item))
    return SnippetOut(**outcome.__dict__)


@router.delete(
    "/v1/snippets/{snippet_id}", response_model=DeletedOut, responses=ERRORS, dependencies=WRITE
)
async def delete_snippet(snippet_id: int, service: ServiceDep) -> DeletedOut:
    """Remove a snippet for good (text, vector, index entry); its report and story are
    recomputed, and a story left empty answers 410 from then on."""
    deleted = await asyncio.wrap_future(service.delete_snippet(snippet_id))
    return DeletedOut(**deleted.__dict__)


@router.get("/v1/stories", response_model=StoryPage, responses=ERRORS, dependencies=READ)
def list_stories(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, description="Stories per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    lang: Annotated[str | None, Query(description="Only stories with a snippet in it.")] = None,
    since: Annotated[
        datetime | None, Query(description="Only stories seen since (RFC 3339).")
    ] = None,
) -> dict:
    stories, next_cursor = service.list_stories(
        _limit(service, limit), cursor, _lang(lang), _since(since)
    )
    return {"stories": stories, "next_cursor": next_cursor}


@router.get("/v1/stories/{story_id}", response_model=StoryView, responses=ERRORS, dependencies=READ)
def get_story(
    story_id: int,
    service: ServiceDep,
    lang: Annotated[str | None, Query(description="Preferred language of title and leads.")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Reports to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, description="Most reports in this page.")] = 100,
) -> dict:
    return service.get_story(story_id, _lang(lang), offset, _limit(service, limit))


@router.get("/v1/search", response_model=SearchOut, responses=ERRORS, dependencies=READ)
def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query in any language.")],
    limit: Annotated[int, Query(ge=1)] = 10,
) -> dict:
    if not q.strip():
        raise FieldError("q", "q must not be blank", "missing")
    return {"query": q, "stories": service.search(q, _limit(service, limit))}


@router.get("/v1/info", responses=ERRORS, dependencies=READ)
def info(service: ServiceDep) -> dict:
    return service.info()


@router.get(
    "/metrics",
    include_in_schema=False,
    dependencies=[Depends(require("read", public="metrics"))],
)
def metrics(service: ServiceDep) -> Response:
    body, content_type = service.metrics.render()
    return Response(body, media_type=content_type)


@router.post(
    "/v1/reindex", status_code=202, response_model=JobOut, responses=ERRORS, dependencies=ADMIN
)
def start_reindex(service: ServiceDep, body: ReindexIn | None = None) -> dict | JSONResponse:
    body = body or ReindexIn()
    options = ReindexOptions(model=body.model, window_days=body.window, dry_run=body.dry_run)
    try:
        return service.start_reindex(options)
    except JobConflict as exc:
        return JSONResponse(
            {"error": {"code": "job_running", "message": str(exc), "job_id": exc.job_id}},
            status_code=409,
        )


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS, dependencies=ADMIN)
def get_job(job_id: int, service: ServiceDep) -> dict:
    return service.get_job(job_id)


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(request: Request) -> JSONResponse:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None or not service.ready:
        return error(503, "not_ready", "model or index still loading")
    return JSONResponse(
        {
            "status": "ready",
            "index_size": len(service.index),
            # Snippets without `lang` wait for it while it loads (seconds after start-up).
            "language_detection": "ready" if service.detector.ready else "loading",
        }
    )
