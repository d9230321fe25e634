"""Ids handed out by the writer: never reused, even for deleted snippets and stories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from storage.base import WriterSession


class IdAllocator:
    def __init__(self, session: WriterSession) -> None:
        self.session = session
        self.reset()

    def reset(self) -> None:
        """Reload from storage (after a failed commit, a correction or a swap)."""
        snippet, report, story = self.session.max_ids()
        self._snippet, self._report, self._story = snippet + 1, report + 1, story + 1

    def snippet(self) -> int:
        self._snippet += 1
        return self._snippet - 1

    def report(self) -> int:
        self._report += 1
        return self._report - 1

    def story(self) -> int:
        self._story += 1
        return self._story - 1

    @contextmanager
    def reusing(self, snippet_id: int) -> Iterator[None]:
        """The next snippet takes `snippet_id` (a correction keeps its id)."""
        following = self._snippet
        self._snippet = snippet_id
        try:
            yield
        finally:
            self._snippet = max(following, snippet_id + 1)
