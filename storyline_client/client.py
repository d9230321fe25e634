"""The HTTP client: one method per endpoint, retries as the API's retry rules say."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx

from storyline_client.errors import ItemError, StorylineError
from storyline_client.models import Deleted, Outcome, Snippet

RETRIED_STATUS = {429, 500, 502, 503, 504}
NOTHING_APPLIED = {429, 503}  # the service refused before applying anything


class Client:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`retries`: further attempts after the first; waits grow from `backoff` seconds
        (doubling, with jitter, at most `max_wait`) unless the answer says `Retry-After`."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- snippets ------------------------------------------------------------
    def post(self, snippet: Snippet) -> Outcome:
        """Store one snippet. Retried after a lost answer only when it has an
        `external_id` (a repeat then answers `exists` with the stored ids)."""
        body = self._call("POST", "/v1/snippets", json=snippet.as_json(),
                          repeatable=snippet.external_id is not None)  # fmt: skip
        return Outcome.from_json(body)

    def post_batch(self, snippets: Sequence[Snippet]) -> list[Outcome | ItemError]:
        """Store a batch: one answer per snippet, in order, an `ItemError` for each one the
        service refused (the others are stored regardless)."""
        body = self._call(
            "POST",
            "/v1/snippets/batch",
            json={"snippets": [s.as_json() for s in snippets]},
            repeatable=all(s.external_id is not None for s in snippets),
        )
        out: list[Outcome | ItemError] = []
        for item in body["results"]:
            if item.get("error"):
                out.append(ItemError.from_body(422, {"error": item["error"]}))
            else:
                out.append(Outcome.from_json(item))
        return out

    def snippet(self, snippet_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/snippets/{snippet_id}"))

    def replace(self, snippet_id: int, snippet: Snippet) -> Outcome:
        """PUT: the same id, re-assigned. Safe to repeat."""
        body = self._call("PUT", f"/v1/snippets/{snippet_id}", json=snippet.as_json())
        return Outcome.from_json(body)

    def delete(self, snippet_id: int) -> Deleted | None:
        """Delete for good. None when a retry found it already gone (an earlier attempt
        was applied but its answer was lost)."""
        try:
            body = self._call("DELETE", f"/v1/snippets/{snippet_id}", gone_ok=True)
        except _AlreadyGone:
            return None
        return Deleted(**body)

    # -- stories and search ----------------------------------------------------
    def stories(
        self,
        limit: int = 20,
        cursor: str | None = None,
        lang: str | None = None,
        since: datetime | str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page, newest-updated first, and the cursor of the next (None: the last)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if lang:
            params["lang"] = lang
        if since is not None:
            params["since"] = since.isoformat() if isinstance(since, datetime) else since
        body = self._call("GET", "/v1/stories", params=params)
        return list(body["stories"]), body.get("next_cursor")

    def all_stories(self, page: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every story, page after page."""
        cursor: str | None = None
        while True:
            found, cursor = self.stories(page, cursor, **filters)
            yield from found
            if cursor is None:
                return

    def story(
        self, story_id: int, lang: str | None = None, offset: int = 0, limit: int = 100
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if lang:
            params["lang"] = lang
        return dict(self._call("GET", f"/v1/stories/{story_id}", params=params))

    def search(self, q: str, limit: int = 10) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/search", params={"q": q, "limit": limit})["stories"])

    # -- service -----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", "/v1/info"))

    def ready(self, full: bool = False) -> bool:
        """Whether the service takes requests; `full`: every request, snippets without
        `lang` included (language detection loads seconds after the rest)."""
        params = {"full": "true"} if full else None
        try:
            return self._http.get("/readyz", params=params).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = 120.0, full: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready(full):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service was not ready within {timeout:.0f} s")
            self._sleep(0.2)

    def reindex(
        self, model: str | None = None, window: float | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Start the nightly re-index (admin key): the job as stored. A 409 (one runs
        already) raises with the running job's id in the message."""
        body: dict[str, Any] = {"dry_run": dry_run}
        if model:
            body["model"] = model
        if window is not None:
            body["window"] = window
        return dict(self._call("POST", "/v1/reindex", json=body))

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/jobs/{job_id}"))

    def wait_job(self, job_id: int, timeout: float = 3600.0, every: float = 0.5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("succeeded", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout:.0f} s")
            self._sleep(every)

    # -- the one request path ------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        repeatable: bool = True,
        gone_ok: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Send, retrying what the rules allow. `repeatable`: the request may be sent
        again after an answer was lost (GET, PUT, DELETE, a POST whose snippets all carry
        an external_id); otherwise only refusals that applied nothing (429, 503) and
        failures to connect are retried."""
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.ConnectError:
                if attempt >= self.retries:
                    raise
            except httpx.TransportError:  # sent, but the answer was lost
                if not repeatable or attempt >= self.retries:
                    raise
            else:
                status = response.status_code
                if status < 300:
                    return response.json()
                if gone_ok and status == 410 and attempt > 0:
                    raise _AlreadyGone
                retry = status in (NOTHING_APPLIED if not repeatable else RETRIED_STATUS)
                if not retry or attempt >= self.retries:
                    raise StorylineError.from_body(status, _json(response))
                wait = _retry_after(response)
                if wait is not None:
                    attempt += 1
                    self._sleep(min(wait, self.max_wait))
                    continue
            attempt += 1
            self._sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), self.max_wait)
        return base * (0.5 + random.random() / 2)


class _AlreadyGone(Exception):
    pass


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
