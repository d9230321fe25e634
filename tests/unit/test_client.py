"""The Python client's retry rules, against a scripted transport (no server)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from storyline_client import Client, ItemError, Snippet, StorylineError

OUTCOME = {"id": 1, "story_id": 2, "report_id": 3, "lang": "en", "status": "created"}


def scripted(*answers: Callable[[httpx.Request], httpx.Response] | httpx.Response) -> tuple:
    """A client whose transport answers in turn; the requests it saw; the waits it made."""
    seen: list[httpx.Request] = []
    waits: list[float] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        return answer(request) if callable(answer) else answer

    client = Client("http://svc", api_key="k" * 20, transport=httpx.MockTransport(handle),
                    retries=3, sleep=waits.append)  # fmt: skip
    return client, seen, waits


def error(status: int, code: str, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code}}, headers=headers)


def lost(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("answer lost", request=request)


def test_overload_is_retried_after_the_wait_the_service_asks() -> None:
    client, seen, waits = scripted(
        error(503, "overloaded", {"Retry-After": "2"}), httpx.Response(201, json=OUTCOME)
    )
    out = client.post(Snippet(text="x"))
    assert out.id == 1 and out.status == "created"
    assert len(seen) == 2 and waits == [2.0]
    assert seen[0].headers["authorization"] == "Bearer " + "k" * 20
    assert json.loads(seen[0].content) == {"text": "x"}


def test_a_lost_answer_repeats_a_post_only_with_an_external_id() -> None:
    client, seen, _ = scripted(lost, httpx.Response(201, json={**OUTCOME, "status": "exists"}))
    assert client.post(Snippet(text="x", external_id="wire-1")).status == "exists"
    assert len(seen) == 2
    client, seen, _ = scripted(lost, httpx.Response(201, json=OUTCOME))
    with pytest.raises(httpx.ReadTimeout):
        client.post(Snippet(text="x"))  # it may have been stored: a repeat could store twice
    assert len(seen) == 1


def test_without_an_external_id_only_refusals_that_applied_nothing_are_retried() -> None:
    client, seen, _ = scripted(error(500, "internal"))
    with pytest.raises(StorylineError) as err:
        client.post(Snippet(text="x"))
    assert err.value.status == 500 and len(seen) == 1
    client, seen, _ = scripted(error(429, "rate_limited"), httpx.Response(201, json=OUTCOME))
    assert client.post(Snippet(text="x")).id == 1 and len(seen) == 2


def test_other_client_errors_are_never_retried_and_name_the_field() -> None:
    body = {"error": {"code": "invalid", "message": "lang: unknown", "field": "lang"}}
    client, seen, _ = scripted(httpx.Response(422, json=body))
    with pytest.raises(StorylineError) as err:
        client.post(Snippet(text="x", lang="zz", external_id="a"))
    assert (err.value.status, err.value.code, err.value.field) == (422, "invalid", "lang")
    assert len(seen) == 1


def test_retries_stop_after_the_limit() -> None:
    client, seen, waits = scripted(*[error(503, "overloaded")] * 4)
    with pytest.raises(StorylineError):
        client.snippet(1)
    assert len(seen) == 4 and len(waits) == 3 and all(w > 0 for w in waits)


def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_it_gone() -> None:
    client, seen, _ = scripted(lost, error(410, "gone"))
    assert client.delete(7) is None and len(seen) == 2
    client, _, _ = scripted(error(410, "gone"))  # gone before this client asked: an error
    with pytest.raises(StorylineError):
        client.delete(7)


def test_batch_answers_per_item() -> None:
    item_error = {"error": {"code": "invalid", "message": "bad", "field": "snippets[1].lang"}}
    client, seen, _ = scripted(httpx.Response(200, json={"results": [OUTCOME, item_error]}))
    out = client.post_batch([Snippet(text="a"), Snippet(text="b", lang="zz")])
    assert out[0].id == 1  # type: ignore[union-attr]
    assert isinstance(out[1], ItemError) and out[1].field == "snippets[1].lang"


def test_pages_are_followed_to_the_end() -> None:
    first = {"stories": [{"id": 3}, {"id": 2}], "next_cursor": "c1"}
    last = {"stories": [{"id": 1}], "next_cursor": None}
    client, seen, _ = scripted(httpx.Response(200, json=first), httpx.Response(200, json=last))
    assert [s["id"] for s in client.all_stories(page=2, lang="ru")] == [3, 2, 1]
    assert seen[1].url.params["cursor"] == "c1" and seen[1].url.params["lang"] == "ru"


def test_published_at_must_carry_a_time_zone() -> None:
    from datetime import UTC, datetime

    assert (
        Snippet(text="x", published_at=datetime(2024, 6, 14, tzinfo=UTC))
        .as_json()["published_at"]
        .endswith("+00:00")
    )
    with pytest.raises(ValueError, match="time zone"):
        Snippet(text="x", published_at=datetime(2024, 6, 14)).as_json()


def test_waiting_for_every_request_asks_for_the_full_readiness() -> None:
    not_yet = error(503, "not_ready")
    client, seen, waits = scripted(not_yet, not_yet, httpx.Response(200, json={}))
    client.wait_ready(full=True)
    assert [r.url.params.get("full") for r in seen] == ["true"] * 3 and len(waits) == 2
    client, seen, _ = scripted(httpx.Response(200, json={}))
    assert client.ready() and "full" not in seen[0].url.params
