"""Turn a client's snippet into an `Incoming`, or say which field is wrong and why."""

from __future__ import annotations

import time
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from app.http.schemas import SnippetIn
from app.settings import Settings
from engine.records import Incoming
from language import validate_code
from stories.text import clean

EARLIEST = 0.0  # 1970-01-01: older dates are typos, not archives
FUTURE_SLACK = 2 * 86400.0  # clocks and time zones drift; more than that is a mistake


class FieldError(ValueError):
    def __init__(self, field: str | None, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class NotJSON(ValueError):
    """A request body in another media type than JSON (415)."""


def from_pydantic(exc: ValidationError, prefix: str = "") -> FieldError:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    msg = first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        msg = "unknown field"
    return FieldError(field, f"{field}: {msg}" if field else msg, first.get("type", "invalid"))


def to_incoming(body: SnippetIn, settings: Settings, now: float | None = None) -> Incoming:
    now = time.time() if now is None else now
    title = clean(body.title)
    text = clean(body.text)
    if title is None and text is None:
        raise FieldError("text", "text or title is required and must not be blank", "missing")
    if text is not None and len(text) > settings.max_text_chars:
        raise FieldError(
            "text",
            f"text is {len(text)} characters; the limit is {settings.max_text_chars}",
            "too_long",
        )
    if title is not None and len(title) > settings.max_title_chars:
        raise FieldError(
            "title",
            f"title is {len(title)} characters; the limit is {settings.max_title_chars}",
            "too_long",
        )
    lang = None
    if body.lang is not None:
        try:
            lang = validate_code(body.lang)
        except ValueError as exc:
            raise FieldError("lang", f"lang: {exc}") from exc
    url = clean(body.url)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FieldError("url", "url must be an absolute http(s) URL")
    published = None
    if body.published_at is not None:
        published = body.published_at.timestamp()
        if published < EARLIEST or published > now + FUTURE_SLACK:
            raise FieldError(
                "published_at",
                "published_at must lie between 1970-01-01 and two days from now",
                "out_of_range",
            )
    external_id = opaque_id(body.external_id)
    return Incoming(
        title=title,
        text=text,
        lang=lang,
        source=clean(body.source),
        url=url,
        published_at=published,
        external_id=external_id,
        received_at=now,
    )


# Control, format (zero-width, direction marks) and surrogate characters: invisible or
# unstorable, so two ids that print alike could differ only in them.
_HIDDEN = ("Cc", "Cf", "Cs")


def opaque_id(value: str | None) -> str | None:
    """An `external_id` is an opaque key: stored byte for byte (no trimming, no Unicode
    normalisation), so two different ids never become one. What cannot be stored
    faithfully or read back by eye is refused, not altered."""
    if value is None:
        return None
    for ch in value:
        if unicodedata.category(ch) in _HIDDEN:
            raise FieldError(
                "external_id",
                f"external_id contains the invisible or control character U+{ord(ch):04X}; "
                "ids are stored exactly as sent, so such characters are refused rather "
                "than removed",
                "invalid_character",
            )
    return value


def parse_item(raw: Any, settings: Settings, prefix: str = "") -> Incoming:
    """One batch item: shape errors and limit errors alike become a FieldError."""
    if not isinstance(raw, dict):
        raise FieldError(prefix or None, "each snippet must be a JSON object", "type_error")
    try:
        body = SnippetIn.model_validate(raw)
    except ValidationError as exc:
        raise from_pydantic(exc, prefix) from exc
    try:
        return to_incoming(body, settings)
    except FieldError as exc:
        if prefix:
            exc.field = f"{prefix}.{exc.field}" if exc.field else prefix
            exc.message = f"{prefix}: {exc.message}"
        raise
