"""Structured logs: one JSON object a line, each carrying the id of the request it serves.

The request id lives in a context variable set by `RequestContext` (from the
client's X-Request-ID or a fresh one); threads that work for a request (the
writer) set it too. Messages never include snippet text or keys: log ids,
counts and timings.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from engine.context import request_id

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured duplicate of msg
}


def new_request_id(offered: str | None = None) -> str:
    """The client's id when it is short and plain (it is echoed and logged), else a new one."""
    if offered and _SAFE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """ts, level, logger, msg, request_id, then any `extra=` fields, as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else str(value)
                )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or "-"
        return super().format(record)


def log_format(fmt: str, stream: object) -> str:
    """'json' or 'text'; 'auto' is text for a person at a terminal, JSON for a file or a
    pipe (what log collectors read)."""
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def configure(level: str = "info", fmt: str = "auto") -> None:
    """Root logging for `storyline serve` on stderr; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler()
    chosen = log_format(fmt, handler.stream)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.setLevel(logging.NOTSET)
        lg.propagate = True
