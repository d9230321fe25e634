"""Hypothesis over the pure request validation: whatever it accepts is within limits and
storable; whatever it refuses names the field (the HTTP side: tests/integration/test_fuzz.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import settings as hsettings

from app.settings import Settings
from app.validation import FieldError, parse_item
from tests.strategies import JSONISH, LIMITS, SNIPPETISH


@given(raw=SNIPPETISH | JSONISH)
@hsettings(max_examples=400, deadline=None)
def test_validation_accepts_or_names_the_field(raw: Any) -> None:
    cfg = Settings(data_dir=Path("/nonexistent"), **LIMITS)
    now = time.time()
    try:
        item = parse_item(raw, cfg)
    except FieldError as exc:
        assert exc.message and exc.code
        return
    # Whatever passes is within limits and storable as UTF-8.
    assert item.title or item.text
    assert item.text is None or (item.text.strip() and len(item.text) <= cfg.max_text_chars)
    assert item.title is None or (item.title.strip() and len(item.title) <= cfg.max_title_chars)
    for value in (item.title, item.text, item.source, item.url, item.external_id, item.lang):
        if value is not None:
            value.encode("utf-8")  # no lone surrogates reach storage
    assert item.published_at is None or 0 <= item.published_at <= now + 3 * 86400
