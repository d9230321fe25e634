"""Hostile and broken input over a real socket: nothing a client sends may produce a 5xx
or an undocumented answer.

Hand-picked hostile requests, then property/OpenAPI-driven fuzzing of every endpoint of
the live server (hypothesis and schemathesis). Every refusal must be a 4xx carrying
`{"error": {"code", "message", "field"?}}`, and every success the documented body.
(Hypothesis over the pure validation: tests/unit/test_validation_fuzz.py; the body and
batch size limits: tests/integration/test_limits.py.)
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from tests.helpers import LiveServer, assert_error
from tests.strategies import JSONISH, LIMITS, SNIPPETISH

FUZZ = hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[LiveServer]:
    """One server for the module: hostile input must not hurt later requests either."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    settings = Settings(data_dir=data, writer_linger_ms=1.0, **LIMITS)
    service = build_service(settings, embedder=embedder)
    try:
        with LiveServer(service, settings) as server:
            yield server
    finally:
        service.close()


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c


# -- what a success must contain (app/http/schemas.py, as /openapi.json documents it) --

SUMMARY = {
    *("id", "title", "lang", "languages", "snippet_count", "report_count"),
    *("first_seen", "last_seen", "updated_at", "merged_into"),
}
SNIPPET_VIEW = {
    *("id", "external_id", "title", "text", "lang", "lang_detected", "source", "url"),
    *("published_at", "received_at", "story_id", "report_id", "status"),
}
STATUSES = {"created", "duplicate", "exists"}


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def moment(stamp: str) -> datetime | None:
    """An RFC 3339 time with its offset, or None for anything else."""
    try:
        parsed = when(stamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def assert_story_summary(s: dict, extra: frozenset[str] = frozenset()) -> None:
    assert set(s) == SUMMARY | extra, s
    assert isinstance(s["id"], int) and s["id"] > 0, s
    assert isinstance(s["title"], str) and s["title"].strip(), s
    assert s["lang"] is None or s["lang"] in s["languages"], s
    assert all(isinstance(n, int) and n > 0 for n in s["languages"].values()), s
    assert sum(s["languages"].values()) == s["snippet_count"] >= 1, s
    assert 1 <= s["report_count"] <= s["snippet_count"], s
    assert when(s["first_seen"]) <= when(s["last_seen"]), s


def assert_documented(r: httpx.Response) -> None:
    """A 2xx answer has the body the OpenAPI document promises for its route."""
    method, path, query = r.request.method, r.request.url.path, r.request.url.params
    body = r.json()
    if method == "POST" and path == "/v1/snippets":
        assert r.status_code == 201, r.text
        assert set(body) == {"id", "story_id", "report_id", "lang", "status"}, body
        assert body["status"] in STATUSES and min(body["id"], body["story_id"]) > 0, body
    elif method == "POST" and path == "/v1/snippets/batch":
        assert r.status_code == 200 and set(body) == {"results"}, body
        for res in body["results"]:
            assert set(res) == {"id", "story_id", "report_id", "lang", "status", "error"}, res
            assert (res["error"] is None) == (res["status"] in STATUSES), res
    elif path == "/v1/stories":
        assert r.status_code == 200 and set(body) == {"stories", "next_cursor"}, body
        assert body["next_cursor"] is None or isinstance(body["next_cursor"], str), body
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 20
        assert len(body["stories"]) <= min(limit, LIMITS["max_page_size"]), body
        for story in body["stories"]:
            assert_story_summary(story)
            assert story["merged_into"] is None  # lists show live stories only
        since = moment(query.get("since", ""))
        if since is not None:  # every story listed was seen since then
            assert all(when(s["last_seen"]) >= since for s in body["stories"]), body
    elif path == "/v1/search":
        assert r.status_code == 200 and set(body) == {"query", "stories"}, body
        assert body["query"] == query["q"] and body["query"].strip(), body
        assert len(body["stories"]) <= 10  # the default limit
        scores = [hit["score"] for hit in body["stories"]]
        assert all(isinstance(x, float) and math.isfinite(x) for x in scores), body
        assert scores == sorted(scores, reverse=True), body
        for hit in body["stories"]:
            assert_story_summary(hit, frozenset({"score"}))
    elif path.startswith("/v1/stories/"):
        assert r.status_code == 200, r.text
        assert_story_summary(body, frozenset({"reports", "next_offset"}))
        assert str(body["id"]) == path.rsplit("/", 1)[1] or body["merged_into"] is not None
    elif path.startswith("/v1/snippets/"):
        assert r.status_code == 200 and set(body) == SNIPPET_VIEW, body
        assert str(body["id"]) == path.rsplit("/", 1)[1] and body["status"] in STATUSES, body
    else:
        raise AssertionError(f"no documented body for {method} {path}")


def assert_sane(r: httpx.Response) -> None:
    """The documented success or a well-formed refusal; never a server error."""
    if r.status_code >= 400:
        assert_error(r)
    else:
        assert r.status_code in (200, 201), r.text
        assert_documented(r)


# -- 1. hand-picked hostile requests over a real socket -----------------------

HOSTILE_BODIES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("empty text", {"text": ""}, (422,)),
    ("whitespace only", {"text": " \n\t\u3000 ", "title": "\u200b"}, (422,)),
    ("1 MB text", {"text": "слово " * 175_000}, (413, 422)),
    ("control characters", {"text": "\x00\x07 bell and nul \x1b[31m red"}, (201,)),
    ("control characters only", {"text": "\x00\x01\x02\x7f"}, (422,)),
    ("mixed scripts", {"text": "Путин и Zelensky встретились в 東京 · مفاوضات"}, (201,)),
    ("emoji", {"text": "🔥🔥 Breaking 🇺🇦 news 👀", "title": "😀"}, (201,)),
    ("unknown lang", {"text": "hello", "lang": "qq"}, (422,)),
    ("wrong lang type", {"text": "hello", "lang": 7}, (422,)),
    ("locale lang", {"text": "hello", "lang": "en-GB"}, (422,)),
    ("far past", {"text": "old", "published_at": "0001-01-01T00:00:00Z"}, (422,)),
    ("far future", {"text": "new", "published_at": "9999-12-31T23:59:59-23:59"}, (422,)),
    ("naive date", {"text": "x", "published_at": "2024-01-01T00:00:00"}, (422,)),
    ("impossible date", {"text": "x", "published_at": "2024-02-30T00:00:00Z"}, (422,)),
    ("date as number", {"text": "x", "published_at": 1e300}, (422,)),
    ("huge external id", {"text": "x", "external_id": "e" * 10_000}, (422,)),
    ("nested object", {"text": {"a": [1, 2]}}, (422,)),
    ("unknown field", {"text": "x", "__proto__": {}}, (422,)),
    ("lone surrogate", {"text": "\ud800abc", "external_id": "\udfff"}, (201, 422)),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b, e) for _, b, e in HOSTILE_BODIES],
    ids=[name for name, _, _ in HOSTILE_BODIES],
)
def test_hostile_snippet_bodies(
    client: httpx.Client, body: dict, expected: tuple[int, ...]
) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \ud800 escapes
    r = client.post("/v1/snippets", content=raw, headers={"content-type": "application/json"})
    if 201 in expected and r.status_code == 201:
        assert_documented(r)
        got = client.get(f"/v1/snippets/{r.json()['id']}")
        assert_documented(got)
        stored = got.json()
        for field in ("text", "title"):
            if stored[field] is not None:
                assert not any(ord(c) < 32 and c not in "\n\t" for c in stored[field])
        return
    assert_error(r, *[s for s in expected if s >= 400])
    assert client.get("/readyz").status_code == 200


RAW_REQUESTS: list[tuple[str, str, str, bytes, dict[str, str], tuple[int, ...]]] = [
    ("invalid utf-8", "POST", "/v1/snippets", b'{"text": "ab\xff\xfe\xc0"}', {}, (400,)),
    ("utf-16 body", "POST", "/v1/snippets", '{"text": "hi"}'.encode("utf-16"), {}, ()),
    ("truncated json", "POST", "/v1/snippets", b'{"text": "abc', {}, (400,)),
    ("trailing garbage", "POST", "/v1/snippets", b'{"text": "abc"} xyz', {}, (400,)),
    ("NaN literal", "POST", "/v1/snippets", b'{"text": "a", "published_at": NaN}', {}, (400, 422)),
    ("deep nesting", "POST", "/v1/snippets", b"[" * 100_000 + b"]" * 100_000, {}, (400, 422)),
    ("empty body", "POST", "/v1/snippets", b"", {}, (400, 422)),
    ("json null", "POST", "/v1/snippets", b"null", {}, (422,)),
    ("json array", "POST", "/v1/snippets", b'[{"text": "a"}]', {}, (422,)),
    ("text/plain", "POST", "/v1/snippets", b'{"a": 1}', {"content-type": "text/plain"}, (415,)),
    (
        "form body",
        "POST",
        "/v1/snippets",
        b"text=hi",
        {"content-type": "application/x-www-form-urlencoded"},
        (415,),
    ),
    ("no content type", "POST", "/v1/snippets", b'{"text": "hi"}', {"content-type": ""}, (415,)),
    ("batch not a list", "POST", "/v1/snippets/batch", b'{"snippets": {"a": 1}}', {}, (422,)),
    ("batch invalid utf-8", "POST", "/v1/snippets/batch", b'{"snippets": ["\xff"]}', {}, (400,)),
    ("wrong method", "DELETE", "/v1/stories", b"", {}, (405,)),
    ("put on search", "PUT", "/v1/search?q=x", b"", {}, (405,)),
]


@pytest.mark.parametrize(
    ("method", "path", "content", "headers", "expected"),
    [r[1:] for r in RAW_REQUESTS],
    ids=[r[0] for r in RAW_REQUESTS],
)
def test_broken_requests(
    client: httpx.Client,
    method: str,
    path: str,
    content: bytes,
    headers: dict[str, str],
    expected: tuple[int, ...],
) -> None:
    headers = {"content-type": "application/json", **headers}
    headers = {k: v for k, v in headers.items() if v}
    r = client.request(method, path, content=content, headers=headers)
    if not expected:  # the server may accept JSON under another type; it must not crash
        assert_sane(r)
    else:
        assert_error(r, *expected)
    assert client.get("/healthz").status_code == 200


QUERY_CASES: list[tuple[str, tuple[int, ...]]] = [
    ("/v1/snippets/0", (404,)),
    ("/v1/snippets/-1", (404,)),
    ("/v1/snippets/99999999999999999999999999", (404, 422)),
    ("/v1/snippets/1e3", (422,)),
    ("/v1/stories/9223372036854775808", (404, 422)),
    ("/v1/stories/18446744073709551616?lang=en", (404, 422)),
    ("/v1/stories/1?lang=klingon", (404, 422)),
    ("/v1/stories?limit=0", (422,)),
    ("/v1/stories?limit=-5", (422,)),
    ("/v1/stories?limit=101", (422,)),
    ("/v1/stories?limit=100000000000000000000000000000", (422,)),
    ("/v1/stories?limit=abc", (422,)),
    ("/v1/stories?lang=xx", (422,)),
    ("/v1/stories?since=yesterday", (422,)),
    ("/v1/stories?since=0001-01-01T00:00:00", (200, 422)),
    ("/v1/stories?since=0001-01-01T00:00:00%2B14:00", (200, 422)),
    ("/v1/stories?since=9999-12-31T23:59:59-23:59", (200, 422)),
    ("/v1/search?q=", (422,)),
    ("/v1/search?q=%20%20%20", (422,)),
    ("/v1/search?q=x&limit=1000000", (422,)),
    ("/v1/search?q=%00%01%02", (200, 422)),
    ("/v1/search?q=%ff%fe", (200, 422)),
    ("/v1/search?q=" + "a" * 2001, (422,)),
    ("/v1/search", (422,)),
]


@pytest.mark.parametrize(("path", "expected"), QUERY_CASES, ids=[p for p, _ in QUERY_CASES])
def test_unknown_ids_limits_and_queries(
    client: httpx.Client, path: str, expected: tuple[int, ...]
) -> None:
    client.post("/v1/snippets", json={"text": "A small story so that lists are not empty."})
    r = client.get(path)
    if r.status_code == 200 and 200 in expected:
        assert_documented(r)
        if "since=0001-" in path:  # since the year 1: the story just posted is listed
            assert r.json()["stories"], r.text
        if "since=9999-" in path:  # nothing was seen after the year 9999
            assert r.json()["stories"] == [], r.text
        return
    assert_error(r, *[s for s in expected if s >= 400])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


TAMPERED = [
    "!!!",
    "%%%",
    "a",
    "=" * 10,
    _b64(b"nan:1"),
    _b64(b"inf:1"),
    _b64(b"1.5"),
    _b64(b"1.5:2:3"),
    _b64(b"1e309:1"),
    _b64(b"1.0:99999999999999999999999999999"),
    _b64(b"1.0:-99999999999999999999999999999"),
    _b64(b"1.0:1e5"),
    _b64(b"\xff\xfe:1"),
    _b64(b"1.0:\x00"),
    _b64(b" 1.0 : 1 "),
    "x" * 200,
    "x" * 201,
]


@pytest.mark.parametrize("cursor", TAMPERED)
def test_cursor_tampering(client: httpx.Client, cursor: str) -> None:
    for i in range(3):
        client.post("/v1/snippets", json={"text": f"Story number {i} about something else {i}"})
    r = client.get("/v1/stories", params={"limit": 1, "cursor": cursor})
    if r.status_code == 200:  # a cursor that decodes to a real position
        assert_documented(r)
        return
    err = assert_error(r, 400, 422)
    assert err.get("field") == "cursor"


# -- 2. properties over the live HTTP API ------------------------------------


@FUZZ
@given(body=SNIPPETISH | JSONISH)
def test_post_snippet_never_5xx(client: httpx.Client, body: Any) -> None:
    raw = json.dumps(body, allow_nan=True).encode()
    assert_sane(
        client.post("/v1/snippets", content=raw, headers={"content-type": "application/json"})
    )


@FUZZ
@given(items=st.lists(SNIPPETISH | JSONISH, max_size=5))
def test_post_batch_never_5xx(client: httpx.Client, items: list) -> None:
    raw = json.dumps({"snippets": items}, allow_nan=True).encode()
    r = client.post("/v1/snippets/batch", content=raw, headers={"content-type": "application/json"})
    assert_sane(r)
    if r.status_code == 200:
        results = r.json()["results"]
        assert len(results) == len(items)
        for res in results:
            assert (res["error"] is None) != (res["id"] is None)
            if res["error"]:
                assert res["error"]["message"]


@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_bytes_never_5xx(client: httpx.Client, raw: bytes) -> None:
    assert_sane(
        client.post("/v1/snippets", content=raw, headers={"content-type": "application/json"})
    )


PARAM = st.text(max_size=30) | st.integers().map(str) | st.sampled_from(["", "nan", "1e999", "-0"])


@FUZZ
@given(
    path=st.sampled_from(["/v1/stories", "/v1/search", "/v1/stories/1", "/v1/snippets/1"]),
    params=st.dictionaries(
        st.sampled_from(["limit", "cursor", "lang", "since", "q", "x"]), PARAM, max_size=4
    ),
)
def test_reads_never_5xx(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    assert_sane(client.get(path, params=params))


@FUZZ
@given(segment=st.text(min_size=1, max_size=40).filter(lambda s: s not in (".", "..")))
def test_path_ids_never_5xx(client: httpx.Client, segment: str) -> None:
    for base in ("/v1/snippets/", "/v1/stories/"):
        assert_sane(client.get(base + quote(segment, safe="")))


# -- 3. OpenAPI-driven: schemathesis against the live server -----------------
# Built per operation with `as_strategy` rather than `schemathesis.pytest.from_fixture`,
# whose node-id rewrite does not work with pytest 9.


def _error_shape(ctx: Any, response: Any, case: Any) -> bool:
    """Every 4xx/5xx is JSON `{"error": {"code", "message"}}` with a non-empty message."""
    if response.status_code >= 400:
        body = response.json()
        err = body.get("error") if isinstance(body, dict) else None
        assert isinstance(err, dict), f"error body without 'error': {body!r}"
        assert err.get("code") and str(err.get("message", "")).strip(), body
    return True


# Examples per operation and mode; raise it for a deeper run (STORYLINE_FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("STORYLINE_FUZZ_EXAMPLES", "30"))


def _fuzz_one(strategy: Any, base_url: str, label: str, tried: dict[str, int]) -> Any:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,  # only statuses the OpenAPI document lists
        content_type_conformance,
        response_schema_conformance,
        _error_shape,
    ]

    @hsettings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=60)
        case.validate_response(response, checks=checks)
        tried[label] = tried.get(label, 0) + 1

    return run


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_openapi_fuzz(live: LiveServer, mode: str) -> None:
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    tried: dict[str, int] = {}
    for op in operations:
        if op.path.startswith("/v1/reindex"):
            continue  # a re-index rebuilds everything: exercised in its own tests
        strategy = op.as_strategy(generation_mode=GenerationMode(mode))
        run = _fuzz_one(strategy, live.url, op.label, tried)
        try:
            run()
        except Unsatisfiable:
            # negative mode has nothing to break in an operation without inputs
            assert mode == "negative" and not op.body and not op.query, op.label
    assert len(tried) >= (8 if mode == "positive" else 5), tried
