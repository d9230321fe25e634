"""The embedded backend: SQLite in WAL mode, one writer session, a reader per thread.

SQL is kept portable (no SQLite-only syntax beyond PRAGMAs and UPSERT, which
PostgreSQL shares) so that another backend can take its place behind
`storage.base.Repository`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import filetrust
from storage.sqlite.consistency import needs_repair, problems, repair_rows
from storage.sqlite.corrections import CorrectionStore
from storage.sqlite.generations import GenerationStore
from storage.sqlite.jobs import JobStore
from storage.sqlite.reads import Reads
from storage.sqlite.schema import (
    clear_in_use,
    connect,
    corrupt,
    distrust,
    integrity,
    mark_closed,
    mark_in_use,
    migrate,
)
from storage.sqlite.session import SQLiteSession


class SQLiteRepository(Reads):
    """Reads (any thread) plus the parts that write through the one writer session."""

    def __init__(self, path: Path, dim: int | None = None, *, check: bool = True) -> None:
        """`check=False` leaves `check_integrity` to the caller: the service runs it on a
        thread beside its other start-up steps (it reads the whole file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, dim)
        try:
            conn = connect(path)
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            distrust(path)
            raise corrupt(path, exc) from exc
        self._marks: list[int] | None = None  # the file as last marked, while holding them
        self.writer = SQLiteSession(conn)
        self.corrections = CorrectionStore(self.writer, dim)
        self.generations = GenerationStore(self.writer, self)
        self.jobs = JobStore(self.writer, self)
        if check:
            self.check_integrity()

    def check_integrity(self, trust_clean_close: bool = False) -> str:
        """`trust_clean_close` (the service's start): skip the check (it reads the whole
        file: 4.7 s at a million snippets) when the last close was clean and the file is
        unchanged since, or when the last service on this file, as it is now, was not
        closed on this boot of the machine; after a machine crash, or a file copied or
        restored over it, it runs. Damage found removes every mark."""
        return integrity(self.path, trust_clean_close)

    def distrust(self) -> None:
        """Damage met elsewhere: no mark may let a later start skip the check."""
        distrust(self.path)

    def hold_marks(self) -> None:
        """This repository is the service's, which holds the data folder's lock: it keeps
        the in-use mark current while it writes, and at its close removes it and, when
        the close folded the WAL, writes the clean-close mark. Others (read commands
        beside a live service) leave the marks alone."""
        self._marks = []  # held, nothing marked yet: the first look marks the file
        self._mark_changes()
        self.writer.after_write = self._mark_changes

    def _mark_changes(self) -> None:
        """After a write: a checkpoint that changed the main file is marked again (a kill
        before that only makes the next start check)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if filetrust.identity(st) != self._marks:
            self._marks = filetrust.identity(st)
            mark_in_use(self.path, st)

    def set_dim(self, dim: int) -> None:
        """Vectors change size when the re-index moves to another model."""
        self.dim = dim
        self.corrections.dim = dim

    def problems(self) -> list[str]:
        """The database's contradictions (`storyline check`), read on this thread."""
        return problems(self.conn)

    def needs_repair(self) -> bool:
        """Whether `repair_rows` has anything to do, read on this thread."""
        return needs_repair(self.conn)

    def repair_rows(self) -> tuple[list[str], list[int]]:
        """What the rows settle (`consistency.repair_rows`), in a writer transaction that
        the caller holds open (`writer.transaction()`)."""
        return repair_rows(self.writer.conn)

    def close(self) -> None:
        # Fold the WAL into the main file, so that a copy of the .db alone is whole.
        folded = False
        with contextlib.suppress(sqlite3.Error):
            self.writer.checkpoint("PASSIVE")
            folded = self.writer.folded
        self.writer.conn.close()
        if self._marks is not None:
            self.writer.after_write = None
            clear_in_use(self.path)  # closed, not killed: only the clean-close mark vouches
            if folded:
                mark_closed(self.path)


__all__ = ["SQLiteRepository"]
