"""Search across languages, and what the service runs with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import __version__
from app.http.deps import ERRORS, READ, ServiceDep, SettingsDep, limit_param
from app.http.schemas import SearchOut
from app.validation import FieldError

router = APIRouter(tags=["search"])


@router.get("/v1/search", response_model=SearchOut, responses=ERRORS, dependencies=READ)
def search(
    service: ServiceDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query in any language.")],
    limit: Annotated[int, Query(ge=1)] = 10,
    min_score: Annotated[
        float | None,
        Query(
            ge=-1,
            le=1,
            description="Leave out stories scoring lower (default STORYLINE_SEARCH_MIN_SCORE).",
        ),
    ] = None,
) -> dict:
    """Stories ranked by `score`: the cosine between the query and the story's closest
    snippet (1 the same meaning; unrelated text scores near 0)."""
    if not q.strip():
        raise FieldError("q", "q must not be blank", "missing")
    floor = settings.search_min_score if min_score is None else min_score
    return {"query": q, "stories": service.search(q, limit_param(settings, limit), floor)}


@router.get("/v1/info", responses=ERRORS, dependencies=READ)
def info(service: ServiceDep, settings: SettingsDep) -> dict[str, Any]:
    return {
        "version": __version__,
        **service.info(),
        "limits": {
            "max_text_chars": settings.max_text_chars,
            "max_title_chars": settings.max_title_chars,
            "max_batch_items": settings.max_batch_items,
            "max_body_bytes": settings.max_body_bytes,
            "max_page_size": settings.max_page_size,
        },
    }
