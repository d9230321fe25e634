"""The source of truth on disk: snippets with their vectors, reports, stories."""

from storage.records import NewSnippet, ReportRow, SnippetRow, StoryRow
from storage.sqlite import SQLiteRepository, StorageCorruptError

__all__ = [
    "NewSnippet",
    "ReportRow",
    "SnippetRow",
    "SQLiteRepository",
    "StorageCorruptError",
    "StoryRow",
]
