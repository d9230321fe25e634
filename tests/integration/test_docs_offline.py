"""/docs and /redoc need no internet: every script, stylesheet and icon they load is
served by the service itself, from the `fastapi-offline` package. (In a browser with the
network cut off: tests/e2e/test_readme_smoke.py.)"""

from __future__ import annotations

import re

import httpx
import pytest

from app.http.docs import assets_dir

TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_pages_load_only_local_assets(client: httpx.Client, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", html.text)  # the schema Swagger UI reads
    assert urls, html.text
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
        answer = client.get(url)
        assert answer.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in TYPES:
            assert TYPES[suffix] in answer.headers["content-type"], url
            assert len(answer.content) > 1000, url
    assert client.get("/openapi.json").json()["info"]["title"] == "storyline"


def test_the_assets_come_from_the_package() -> None:
    names = {p.name for p in assets_dir().iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"} <= names
