"""The JSON log format without a server: fields, the request id context, request ids a
client may choose, and uvicorn's lines routed through it (what reaches the logs over
real HTTP: tests/integration/test_logging.py)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from app.observability.logging import (
    JsonFormatter,
    configure,
    log_format,
    new_request_id,
    request_id,
)


def test_formatter_fields_and_context() -> None:
    fmt = JsonFormatter()
    record = logging.LogRecord("storyline.x", logging.INFO, __file__, 1, "n=%d", (3,), None)
    record.route = "/v1/stories"
    token = request_id.set("abc-123")
    try:
        out = json.loads(fmt.format(record))
    finally:
        request_id.reset(token)
    assert out["msg"] == "n=3" and out["level"] == "INFO" and out["logger"] == "storyline.x"
    assert out["request_id"] == "abc-123" and out["route"] == "/v1/stories"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", out["ts"])
    assert json.loads(fmt.format(record))["request_id"] is None  # outside any request


def test_request_ids_are_plain_or_replaced() -> None:
    assert new_request_id("trace-01:ab.C_d") == "trace-01:ab.C_d"
    for bad in (None, "", "x" * 65, "has space", '"><script>'):
        assert re.fullmatch(r"[0-9a-f]{32}", new_request_id(bad))


def test_configure_routes_uvicorn_through_json(capsys: pytest.CaptureFixture) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure("info", "json")
        token = request_id.set("cfg-1")
        logging.getLogger("uvicorn.error").info("Started server process")
        request_id.reset(token)
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert json.loads(line) | {"ts": None} == {
            "ts": None,
            "level": "INFO",
            "logger": "uvicorn.error",
            "msg": "Started server process",
            "request_id": "cfg-1",
        }
        configure("info", "text")
        logging.getLogger("storyline").warning("plain")
        assert "WARNING storyline [-]: plain" in capsys.readouterr().err
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert log_format("auto", _Stream(True)) == "text"
    assert log_format("auto", _Stream(False)) == "json"
    assert log_format("auto", object()) == "json"  # a stream that cannot tell
    assert log_format("json", _Stream(True)) == "json"
    assert log_format("text", _Stream(False)) == "text"
