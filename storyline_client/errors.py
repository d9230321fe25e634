"""Errors the API answers, as exceptions that keep its code, message and field."""

from __future__ import annotations

from typing import Any, Self


class StorylineError(Exception):
    """A non-2xx answer: `status`, the API's `code`, `message` and the offending `field`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def from_body(cls, status: int, body: Any) -> Self:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        return cls(
            status,
            str(err.get("code", "http_error")),
            str(err.get("message", body if isinstance(body, str) else "")),
            err.get("field"),
        )


class ItemError(StorylineError):
    """One batch item the service refused (the others were stored)."""
