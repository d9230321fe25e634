"""The source of truth on disk: snippets with their vectors, reports, stories, jobs.

`open_repository` picks the backend; everything above storage/ sees only the
protocols of storage/base.py and the records of storage/records.py.
"""

from __future__ import annotations

from pathlib import Path

from storage.base import Repository, WriterSession
from storage.errors import StorageCorruptError
from storage.records import NewSnippet, ReportRow, SnippetRow, StoryRow


def open_repository(path: Path, dim: int | None = None, *, check: bool = True) -> Repository:
    """The embedded SQLite database at `path` (created and migrated as needed)."""
    from storage.sqlite import SQLiteRepository

    return SQLiteRepository(path, dim, check=check)


def check_database(path: Path) -> str:
    """The start-up check of the database file at `path` without opening a repository
    (`storyline serve` begins it before the service: `engine.startup`): skipped once after
    a clean stop, and after a service not closed on this boot (the answer says which);
    StorageCorruptError when the file is damaged."""
    from storage.sqlite.schema import integrity

    return integrity(path, trust_clean_close=True)


__all__ = [
    "NewSnippet",
    "ReportRow",
    "Repository",
    "SnippetRow",
    "StorageCorruptError",
    "StoryRow",
    "WriterSession",
    "check_database",
    "open_repository",
]
