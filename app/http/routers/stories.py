"""Story list and story view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.http.deps import (
    ERRORS,
    READ,
    ServiceDep,
    SettingsDep,
    lang_param,
    limit_param,
    since_param,
)
from app.http.schemas import StoryPage, StoryView
from engine.views import StoryView as StoryRead

router = APIRouter(tags=["stories"])


@router.get("/v1/stories", response_model=StoryPage, responses=ERRORS, dependencies=READ)
def list_stories(
    service: ServiceDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="Stories per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    lang: Annotated[str | None, Query(description="Only stories with a snippet in it.")] = None,
    since: Annotated[
        str | None, Query(max_length=64, description="Only stories seen since (RFC 3339).")
    ] = None,
) -> dict:
    stories, next_cursor = service.list_stories(
        limit_param(settings, limit), cursor, lang_param(lang), since_param(since)
    )
    return {"stories": stories, "next_cursor": next_cursor}


@router.get("/v1/stories/{story_id}", response_model=StoryView, responses=ERRORS, dependencies=READ)
def get_story(
    story_id: int,
    service: ServiceDep,
    settings: SettingsDep,
    lang: Annotated[str | None, Query(description="Preferred language of title and leads.")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Reports to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, description="Most reports in this page.")] = 100,
) -> StoryRead:
    return service.get_story(story_id, lang_param(lang), offset, limit_param(settings, limit))
