"""Opening a SQLite database the way every connection here needs it, and migrating it."""

from __future__ import annotations

import sqlite3
from importlib.resources import files
from pathlib import Path

from storage.errors import StorageCorruptError


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives power loss, not only a killed process.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=OFF")
    # Deleted snippets (takedowns) leave zeros behind, not their text.
    conn.execute("PRAGMA secure_delete=ON")
    return conn


def migrations() -> list[tuple[int, str]]:
    folder = files("storage.sqlite").joinpath("migrations")
    found = []
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, sql in migrations():
        if number > current:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")


def corrupt(path: Path, exc: sqlite3.DatabaseError) -> StorageCorruptError:
    return StorageCorruptError(
        f"database {path} cannot be opened ({exc}); restore it from a backup "
        "or move it away to start empty"
    )


def check_integrity(path: Path) -> None:
    """`PRAGMA quick_check` on a connection of its own (callable from any thread);
    StorageCorruptError unless the file is sound."""
    try:
        conn = connect(path)
        try:
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise corrupt(path, exc) from exc
    if integrity != "ok":
        raise StorageCorruptError(
            f"database {path} failed its integrity check ({integrity}); restore it "
            "from a backup or move it away to start empty"
        )
