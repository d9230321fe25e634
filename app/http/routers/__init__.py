"""One router per resource; each route translates one request into one service call."""

from fastapi import APIRouter, Depends

from app.http.deps import ids_in_range
from app.http.routers import health, jobs, search, snippets, stories


def api_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(ids_in_range)])
    for module in (snippets, stories, search, jobs, health):
        router.include_router(module.router)
    return router
