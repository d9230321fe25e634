"""The docs say what the code has: every setting (docs/settings.md, generated), route
and CLI command (README.md), and the docs' links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from app.api import create_app
from app.cli import build_parser
from app.settings import Settings, settings_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS_DOC = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")


def test_settings_reference_is_the_generated_one() -> None:
    block = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", SETTINGS_DOC, re.S)
    assert block, "docs/settings.md lacks the settings block"
    assert block.group(1).strip() == settings_table().strip(), (
        "docs/settings.md is stale: regenerate the table with `python -m app.settings`"
    )
    for name in Settings.model_fields:
        assert f"STORYLINE_{name.upper()}" in SETTINGS_DOC


def test_links_between_the_docs_lead_somewhere() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
        for path in re.findall(r"`(tests/[\w/.-]+\.py)`", text):
            if not (ROOT / path).exists():
                broken.append(f"{page.relative_to(ROOT)} names {path}")
    assert not broken, "\n".join(broken)


def test_every_route_is_documented() -> None:
    app = create_app(Settings())
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/docs", "/openapi", "/redoc", "/static")) or path in ("", "/"):
            continue
        if not getattr(route, "include_in_schema", True) and not path.startswith("/stories"):
            continue
        assert f"`{path}" in README or f" {path}" in README, f"route {path} missing from README"


def test_every_cli_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in sub.choices:  # type: ignore[union-attr]
        assert f"storyline {command}" in README, f"`storyline {command}` missing from README"
