"""HTML pages for people: the story list with filters and search, and the story page.

They call the same service functions as the JSON API and answer errors as pages, not JSON.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.http.auth import require
from app.http.deps import ServiceDep, SettingsDep
from app.pages.present import (
    human_time,
    language_name,
    lead_text,
    paragraphs,
    parse_since,
    parse_time,
    plural,
    preferred_language,
    safe_href,
    snippet_headline,
    split_headline,
    story_snippets,
)
from app.pages.timeline import build_timeline
from engine.errors import BadCursor, Gone, NotFound
from language import validate_code

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = human_time
templates.env.globals.update(
    language_name=language_name,
    lead_text=lead_text,
    paragraphs=paragraphs,
    plural=plural,
    safe_href=safe_href,
    short_title=snippet_headline,
)
PAGE_SIZE = 20
REPORTS_SHOWN = 100  # a story page stays readable; the JSON view has every report

# Same access rule as the JSON reads; kept out of the OpenAPI schema, which describes JSON.
router = APIRouter(include_in_schema=False, dependencies=[Depends(require("read", public="read"))])


class PageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {400: "Bad request", 404: "Not found", 410: "Gone", 422: "Invalid input"}
    context = {"status": status, "heading": titles.get(status, "Error"), "message": message}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _lang(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return validate_code(value)
    except ValueError as exc:
        raise PageError(422, str(exc)) from exc


def _limit(value: str | None, largest: int) -> int:
    if not value:
        return PAGE_SIZE
    try:
        n = int(value)
    except ValueError as exc:
        raise PageError(422, f"limit {value!r} is not a whole number") from exc
    return max(1, min(n, largest))


@router.get("/", response_class=HTMLResponse)
def story_list(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    q: str | None = None,
    lang: str | None = None,
    since: str | None = None,
    cursor: str | None = None,
    limit: str | None = None,
) -> HTMLResponse:
    """Newest stories first; with `q`, the stories nearest the query in any language."""
    try:
        code = _lang(lang)
        size = _limit(limit, settings.max_page_size)
        try:
            since_ts = parse_since(since) if since else None
        except ValueError as exc:
            raise PageError(422, str(exc)) from exc
        query = (q or "").strip()[:2000]
        next_cursor = None
        if query:
            stories = [
                s
                for s in service.search(query, size, settings.search_min_score)
                if (code is None or code in s["languages"])
                and (since_ts is None or _ts(s["last_seen"]) >= since_ts)
            ]
        else:
            try:
                stories, next_cursor = service.list_stories(size, cursor or None, code, since_ts)
            except BadCursor as exc:
                raise PageError(400, str(exc)) from exc
    except PageError as exc:
        return error_page(request, exc.status, exc.message)
    sources = service.story_sources([s["id"] for s in stories])
    keep = {"q": query, "lang": code, "since": since, "limit": limit}
    context = {
        "stories": stories,
        "sources": sources,
        "q": query,
        "lang": code,
        "since": since or "",
        "languages": settings.languages,
        "next_url": _url("/", {**keep, "cursor": next_cursor}) if next_cursor else None,
        "first_url": _url("/", keep) if cursor else None,
    }
    return templates.TemplateResponse(request, "list.html", context)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(
    request: Request, story_id: str, service: ServiceDep, lang: str | None = None
) -> HTMLResponse:
    """Title and leads in the reader's language: ?lang=, else the best Accept-Language match."""
    try:
        if not (story_id.isascii() and story_id.isdigit() and len(story_id) <= 18):
            raise PageError(404, f"story {story_id!r} not found: story ids are numbers")
        sid = int(story_id)
        code = _lang(lang)
        try:
            available = list(service.story_languages(sid))
            if code is None:
                code = preferred_language(request.headers.get("accept-language"), available)
            story = service.get_story(sid, code)
        except NotFound as exc:  # Gone (deleted) is a NotFound that answers 410
            raise PageError(410 if isinstance(exc, Gone) else 404, str(exc)) from exc
    except PageError as exc:
        return error_page(request, exc.status, exc.message)
    headline, reports = split_headline(story)
    context = {
        "story": story,
        "headline": headline,
        "reports": reports[:REPORTS_SHOWN],
        "hidden_reports": max(0, len(reports) - REPORTS_SHOWN),
        "lang": code or story["lang"],
        "available": available,
        "timeline": build_timeline(story_snippets(story)),
        "json_url": _url(f"/v1/stories/{sid}", {"lang": code}),
    }
    headers = {"Vary": "Accept-Language"}
    if story["lang"]:
        headers["Content-Language"] = story["lang"]
    return templates.TemplateResponse(request, "story.html", context, headers=headers)


def _ts(value: str) -> float:
    return parse_time(value).timestamp()


def _url(path: str, params: dict[str, str | None]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def install(app: FastAPI) -> None:
    """Pages at `/` and `/stories/{id}`, their stylesheet under `/static`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
