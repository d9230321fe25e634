"""The OpenAPI pages, /docs (Swagger UI) and /redoc, with their scripts and styles served
from the `fastapi-offline` package: they work in a browser without internet access.
FastAPI's own pages load them from a public CDN, and stay blank offline."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "redoc.standalone.js",
    "favicon.png",
)


def assets_dir() -> Path:
    """The folder of Swagger UI and ReDoc files that `fastapi-offline` ships."""
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """/docs, /redoc and their assets under /docs/assets; the app is built with
    `docs_url=None, redoc_url=None` so that FastAPI adds no CDN-backed pages of its own."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = app.title

    def url(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=url(request, app.openapi_url or "/openapi.json"),
            title=f"{title} · API",
            swagger_js_url=url(request, f"{ASSETS_URL}/{SWAGGER_JS}"),
            swagger_css_url=url(request, f"{ASSETS_URL}/{SWAGGER_CSS}"),
            swagger_favicon_url=url(request, f"{ASSETS_URL}/{FAVICON}"),
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=url(request, app.openapi_url or "/openapi.json"),
            title=f"{title} · API",
            redoc_js_url=url(request, f"{ASSETS_URL}/{REDOC_JS}"),
            redoc_favicon_url=url(request, f"{ASSETS_URL}/{FAVICON}"),
            with_google_fonts=False,
        )
