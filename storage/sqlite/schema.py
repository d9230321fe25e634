"""Opening a SQLite database the way every connection here needs it, and migrating it."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from importlib.resources import files
from pathlib import Path

import filetrust
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


def _db_state(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _clean_marker(path: Path) -> Path:
    return path.with_name(path.name + ".closed-cleanly")


def mark_closed(path: Path) -> None:
    """After a clean close that folded the whole WAL into the file: the file as it was
    left, so the next start can tell that nothing touched it since."""
    with contextlib.suppress(OSError):
        _clean_marker(path).write_text(json.dumps(_db_state(path)))


def closed_cleanly(path: Path) -> bool:
    """True when the last close was clean and the file is as it left it. Consumes the
    mark: once the service runs, a crash must leave none."""
    marker = _clean_marker(path)
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    finally:
        with contextlib.suppress(OSError):
            marker.unlink()
    return recorded is not None and recorded == _db_state(path)


def _in_use_marker(path: Path) -> Path:
    return path.with_name(path.name + ".in-use")


def mark_in_use(path: Path, st: os.stat_result | None = None) -> None:
    """The file as it is now (or as `st`), sound (checked, or rightly trusted) and open in
    a service, on this boot of the machine: written by the service's repository only
    (`SQLiteRepository.hold_marks`), at start and after each change to the main file
    (in WAL mode only checkpoints write it)."""
    filetrust.vouch(path, _in_use_marker(path), st)


def clear_in_use(path: Path) -> None:
    filetrust.withdraw(_in_use_marker(path))


def not_closed_on_this_boot(path: Path) -> bool:
    """True when a service had this very file open on this boot of the machine, as it is
    now, and did not close it: it was killed (or is still running: the data folder's lock
    refuses a second), the machine was not. SQLite's WAL commits are atomic against the
    death of a process, so the file is as sound as the check before that start found it
    (`filetrust`). A file copied over it since has another size or time."""
    return filetrust.vouched(path, _in_use_marker(path))


def integrity(path: Path, trust_clean_close: bool) -> str:
    """`check_integrity`, skipped when the last close was clean and the file is as it
    left it (the mark is consumed), or when the last service on it was not closed on this
    boot of the machine (`not_closed_on_this_boot`): `trust_clean_close`, the service's
    start-up (whose repository then marks the file in use). Says which it was, for the
    log."""
    if not trust_clean_close:
        check_integrity(path)
        return "checked"
    if closed_cleanly(path):
        how = "check skipped: closed cleanly and unchanged since"
    elif not_closed_on_this_boot(path):
        how = "check skipped: its last service was not closed and the machine did not restart"
    else:
        check_integrity(path)
        how = "checked"
    return how


def distrust(path: Path) -> None:
    """Damage met: no mark may let a later start skip the check."""
    clear_in_use(path)
    with contextlib.suppress(OSError):
        _clean_marker(path).unlink()


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
        distrust(path)
        raise corrupt(path, exc) from exc
    if integrity != "ok":
        distrust(path)
        raise StorageCorruptError(
            f"database {path} failed its integrity check ({integrity}); restore it "
            "from a backup or move it away to start empty"
        )
