"""The FastAPI application: built once per process, services created in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__, pages
from app.http import auth, docs, errors
from app.http.limits import BodyLimit
from app.http.routers import api_router
from app.observability.metrics import Metrics
from app.observability.middleware import RequestContext
from app.settings import Settings
from app.wiring import build_service
from engine.service import Service

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """`service` lets tests and embedders hand in a ready one; otherwise it is built at start."""
    settings = settings or Settings()
    handed = service.observer if service is not None else None
    metrics = handed if isinstance(handed, Metrics) else Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        try:
            app.state.service = service or build_service(settings, observer=metrics)
        except Exception as exc:
            # `storyline serve` reports it in one line (corrupt database, wrong model, busy dir)
            app.state.startup_error = exc
            raise
        metrics.watch(app.state.service.gauges)
        log.info("storyline ready on data dir %s", settings.data_dir)
        auth.announce(app.state.auth, settings)
        # `storyline serve` says where it listens, so that a command that finds the data
        # folder busy can name the server to send to (storyline ingest --url)
        address = getattr(app.state, "listen_url", None)
        if address and own:
            settings.server_url_path.write_text(address + "\n", encoding="utf-8")
        try:
            yield
        finally:
            if own:
                settings.server_url_path.unlink(missing_ok=True)
                app.state.service.close()

    app = FastAPI(
        title="storyline",
        version=__version__,
        description="Cross-lingual story clustering and deduplication of news snippets.",
        lifespan=lifespan,
        # "/v1/stories/7/" or an id holding "/" is an unknown path (404 with the error
        # shape), not a redirect to some other resource.
        redirect_slashes=False,
        docs_url=None,  # app.http.docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    auth.install(app, settings)  # its gate refuses keyless writes before the body is read
    app.add_middleware(RequestContext)  # outermost: every answer, 401/413 included, is counted
    app.include_router(api_router())
    docs.install(app)  # /docs and /redoc with their assets from the package, not a CDN
    pages.install(app)  # HTML story pages at / and /stories/{id}, stylesheet at /static
    return app
