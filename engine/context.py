"""The request a thread is working for, so the writer's log lines name the requests they
serve (set by the HTTP edge, carried through the writer queue)."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("storyline_request_id", default=None)
