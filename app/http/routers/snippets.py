"""POST, GET, PUT and DELETE of snippets."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.http.deps import ERRORS, READ, WRITE, WRITE_JSON, ServiceDep, SettingsDep
from app.http.errors import error
from app.http.schemas import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    DeletedOut,
    SnippetIn,
    SnippetOut,
    SnippetView,
)
from app.validation import FieldError, parse_item, to_incoming
from engine.records import Incoming
from engine.views import SnippetView as SnippetRead

router = APIRouter(tags=["snippets"])


@router.post(
    "/v1/snippets",
    status_code=201,
    response_model=SnippetOut,
    responses=ERRORS,
    dependencies=WRITE_JSON,
)
async def post_snippet(body: SnippetIn, service: ServiceDep, settings: SettingsDep) -> SnippetOut:
    item = to_incoming(body, settings)
    (outcome,) = await asyncio.wrap_future(service.submit([item]))
    return SnippetOut(**outcome.__dict__)


@router.post(
    "/v1/snippets/batch", response_model=BatchOut, responses=ERRORS, dependencies=WRITE_JSON
)
async def post_batch(
    body: BatchIn, service: ServiceDep, settings: SettingsDep
) -> BatchOut | JSONResponse:
    limit = settings.max_batch_items
    if len(body.snippets) > limit:  # a field that fails validation: 422, naming it
        return error(
            422,
            "too_many",
            f"snippets: a batch holds at most {limit} snippets; got {len(body.snippets)}",
            "snippets",
        )
    results: list[BatchItemOut] = []
    good: list[tuple[int, Incoming]] = []
    for i, raw in enumerate(body.snippets):
        try:
            good.append((i, parse_item(raw, settings, prefix=f"snippets[{i}]")))
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
def get_snippet(snippet_id: int, service: ServiceDep) -> SnippetRead:
    return service.get_snippet(snippet_id)


@router.put(
    "/v1/snippets/{snippet_id}",
    response_model=SnippetOut,
    responses=ERRORS,
    dependencies=WRITE_JSON,
)
async def put_snippet(
    snippet_id: int, body: SnippetIn, service: ServiceDep, settings: SettingsDep
) -> SnippetOut:
    """Replace text or metadata; the snippet is re-assigned under the same id. Omitted
    `external_id` and `published_at` keep their stored values."""
    item = to_incoming(body, settings)
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
