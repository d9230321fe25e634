"""Exceptions raised by the vector index package."""

from __future__ import annotations

from pathlib import Path


class IndexCorruptError(Exception):
    """A saved index file cannot be trusted.

    Callers treat this as "discard and rebuild from the database", so the
    message says exactly that and names the offending file.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"vector index file {self.path} is corrupt or unreadable ({reason}); "
            "the index will be rebuilt from the database"
        )
