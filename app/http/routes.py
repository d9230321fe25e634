"""Routes: each translates one request into one service call."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.http.errors import error
from app.http.schemas import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    ErrorOut,
    SearchOut,
    SnippetIn,
    SnippetOut,
    SnippetView,
    StoryPage,
    StoryView,
)
from app.records import Incoming
from app.service import Service
from app.validation import FieldError, parse_item, to_incoming
from language import validate_code

router = APIRouter()
ERRORS = {
    400: {"model": ErrorOut},
    404: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


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


@router.post("/v1/snippets", status_code=201, response_model=SnippetOut, responses=ERRORS)
async def post_snippet(body: SnippetIn, service: ServiceDep) -> SnippetOut:
    item = to_incoming(body, service.settings)
    (outcome,) = await asyncio.wrap_future(service.submit([item]))
    return SnippetOut(**outcome.__dict__)


@router.post("/v1/snippets/batch", response_model=BatchOut, responses=ERRORS)
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


@router.get("/v1/snippets/{snippet_id}", response_model=SnippetView, responses=ERRORS)
def get_snippet(snippet_id: int, service: ServiceDep) -> dict:
    return service.get_snippet(snippet_id)


@router.get("/v1/stories", response_model=StoryPage, responses=ERRORS)
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
        _limit(service, limit), cursor, _lang(lang), since.timestamp() if since else None
    )
    return {"stories": stories, "next_cursor": next_cursor}


@router.get("/v1/stories/{story_id}", response_model=StoryView, responses=ERRORS)
def get_story(
    story_id: int,
    service: ServiceDep,
    lang: Annotated[str | None, Query(description="Preferred language of title and leads.")] = None,
) -> dict:
    return service.get_story(story_id, _lang(lang))


@router.get("/v1/search", response_model=SearchOut, responses=ERRORS)
def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query in any language.")],
    limit: Annotated[int, Query(ge=1)] = 10,
) -> dict:
    if not q.strip():
        raise FieldError("q", "q must not be blank", "missing")
    return {"query": q, "stories": service.search(q, _limit(service, limit))}


@router.get("/v1/info", responses=ERRORS)
def info(service: ServiceDep) -> dict:
    return service.info()


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(request: Request) -> JSONResponse:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None or not service.ready:
        return error(503, "not_ready", "model or index still loading")
    return JSONResponse({"status": "ready", "index_size": len(service.index)})
