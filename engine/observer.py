"""What the engine reports as it works; the edge turns it into metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Observer(Protocol):
    def observe_embedding(self, texts: int, seconds: float) -> None: ...
    def count_outcomes(self, statuses: list[str]) -> None: ...
    def count_shed(self, snippets: int) -> None: ...
    def count_correction(self, action: str) -> None: ...
    def phase(self, name: str) -> AbstractContextManager[None]:
        """Times one re-index phase."""
        ...


class Quiet:
    """Reports nowhere (evaluation, the CLI)."""

    def observe_embedding(self, texts: int, seconds: float) -> None:
        pass

    def count_outcomes(self, statuses: list[str]) -> None:
        pass

    def count_shed(self, snippets: int) -> None:
        pass

    def count_correction(self, action: str) -> None:
        pass

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield
