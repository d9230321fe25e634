"""What the README promises about ids, times, cursors and bodies, held over real HTTP.

Each of these once answered otherwise: a 500 for id -1, different external_ids taken
as one, bare Unix numbers taken as times, a forged cursor accepted, a form body read as
a missing one (422 instead of 415).
"""

from __future__ import annotations

import base64
import unicodedata

import httpx
import pytest

from tests.helpers import assert_error, load_jsonl

TEXT = "Fishermen in Galicia protest against new EU quotas for hake and sardine catches."


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("sid", ["-1", "0", "-9223372036854775808"])
def test_ids_below_one_name_nothing(client: httpx.Client, method: str, sid: str) -> None:
    body = {"text": TEXT} if method == "PUT" else None
    r = client.request(method, f"/v1/snippets/{sid}", json=body)
    assert_error(r, 404)  # not 500: a client that retries 5xx would retry forever
    assert_error(client.get(f"/v1/stories/{sid}"), 404)


@pytest.mark.parametrize(
    ("external_id", "hidden"),
    [("a\u0000b", "U+0000"), ("a\u200bb", "U+200B"), ("tab\there", "U+0009"), ("\ufeffx", "FEFF")],
)
def test_invisible_characters_in_an_external_id_are_refused(
    client: httpx.Client, external_id: str, hidden: str
) -> None:
    err = assert_error(
        client.post("/v1/snippets", json={"text": TEXT, "external_id": external_id}), 422
    )
    assert err["field"] == "external_id" and hidden in err["message"]
    batch = {"snippets": [{"text": TEXT, "external_id": external_id}]}
    item = client.post("/v1/snippets/batch", json=batch).json()["results"][0]
    assert item["error"]["field"] == "snippets[0].external_id"
    assert client.get("/v1/info").json()["counts"]["snippets"] == 0


def test_external_ids_are_stored_byte_for_byte(client: httpx.Client) -> None:
    """Ids that print alike but differ are different snippets, each keeps its own text."""
    nfc = unicodedata.normalize("NFC", "café-1")
    nfd = unicodedata.normalize("NFD", "café-1")
    ids = [" x ", "x", nfc, nfd]
    assert len(set(ids)) == 4
    texts = [d["text"] for d in load_jsonl("unrelated_news.jsonl")[:4]]
    answers = [
        client.post("/v1/snippets", json={"text": t, "external_id": e})
        for t, e in zip(texts, ids, strict=True)
    ]
    assert [a.status_code for a in answers] == [201] * 4
    assert [a.json()["status"] for a in answers] == ["created"] * 4
    assert len({a.json()["id"] for a in answers}) == 4
    for e, t, a in zip(ids, texts, answers, strict=True):
        stored = client.get(f"/v1/snippets/{a.json()['id']}").json()
        assert stored["external_id"] == e and stored["text"] == t
    again = client.post("/v1/snippets", json={"text": "another text", "external_id": nfd})
    assert again.json()["status"] == "exists" and again.json()["id"] == answers[3].json()["id"]


@pytest.mark.parametrize("when", [0, 1718352000, "1718352000", "2024-06-14", "2024-06-14T10:00"])
def test_published_at_must_be_rfc3339_with_an_offset(client: httpx.Client, when: object) -> None:
    err = assert_error(client.post("/v1/snippets", json={"text": TEXT, "published_at": when}), 422)
    assert err["field"] == "published_at" and "RFC 3339" in err["message"]
    ok = client.post(
        "/v1/snippets", json={"text": TEXT, "published_at": "2024-06-14T10:00:00+02:00"}
    )
    assert ok.status_code == 201


@pytest.mark.parametrize("since", ["0", "1718352000", "yesterday"])
def test_since_must_be_rfc3339_too(client: httpx.Client, since: str) -> None:
    err = assert_error(client.get("/v1/stories", params={"since": since}), 422)
    assert err["field"] == "since"


def _cursor(client: httpx.Client) -> str:
    news = load_jsonl("unrelated_news.jsonl")[:3]
    batch = [{"text": d["text"], "lang": d["lang"]} for d in news]
    assert client.post("/v1/snippets/batch", json={"snippets": batch}).status_code == 200
    cursor = client.get("/v1/stories", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    return str(cursor)


def test_a_forged_or_edited_cursor_is_refused(client: httpx.Client) -> None:
    issued = _cursor(client)
    assert client.get("/v1/stories", params={"cursor": issued}).status_code == 200
    forged = base64.urlsafe_b64encode(b"9999999999:1").decode().rstrip("=")
    raw = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))
    edited = base64.urlsafe_b64encode(raw.replace(b":", b":9", 1)).decode().rstrip("=")
    for bad in (forged, edited, issued[:-2], "not-a-cursor"):
        err = assert_error(client.get("/v1/stories", params={"cursor": bad}), 400)
        assert err["field"] == "cursor"


@pytest.mark.parametrize(
    ("media", "body"),
    [
        ("text/plain", b'{"text": "a"}'),
        ("application/x-www-form-urlencoded", b"text=a"),
        ("", b'{"text": "a"}'),
    ],
)
def test_a_body_that_is_not_json_gets_415(client: httpx.Client, media: str, body: bytes) -> None:
    for path in ("/v1/snippets", "/v1/snippets/batch", "/v1/reindex"):
        r = client.post(path, content=body, headers={"content-type": media})
        assert assert_error(r, 415)["code"] == "unsupported_media_type", path
    assert client.get("/v1/info").json()["counts"]["snippets"] == 0
