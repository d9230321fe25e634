"""The README documents what the code has: every setting, route and CLI command."""

from __future__ import annotations

import re
from pathlib import Path

from app.api import create_app
from app.cli import build_parser
from app.settings import Settings, settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_settings_table_is_the_generated_one() -> None:
    block = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README, re.S)
    assert block, "README lacks the settings block"
    assert block.group(1).strip() == settings_table().strip(), (
        "README settings table is stale: regenerate it with `python -m app.settings`"
    )
    for name in Settings.model_fields:
        assert f"STORYLINE_{name.upper()}" in README


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
