"""The FastAPI application: built once per process, services created in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.http import errors
from app.http.limits import BodyLimit
from app.http.routes import router
from app.service import Service
from app.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """`service` lets tests and embedders hand in a ready one; otherwise it is built at start."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        app.state.service = service or Service(settings)
        log.info("storyline ready on data dir %s", settings.data_dir)
        try:
            yield
        finally:
            if own:
                app.state.service.close()

    app = FastAPI(
        title="storyline",
        version=__version__,
        description="Cross-lingual story clustering and deduplication of news snippets.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(router)
    return app
