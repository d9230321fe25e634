"""Storage for deletions and corrections: remove one snippet and recompute what it touched.

Like the re-index store it borrows the repository's connections. Removal runs
on the writer connection inside the caller's transaction (`transaction()`),
so a replacement can re-ingest the corrected snippet in the same commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from storage.records import SnippetRow
from storage.sqlite import SNIPPET_COLUMNS, SQLiteRepository, _snippet
from stories.aggregate import Members, story_aggregate


@dataclass(frozen=True)
class Removed:
    snippet: SnippetRow
    report_gone: bool
    story_gone: bool
    seq: int  # position in snippet_changes


class CorrectionStore:
    def __init__(self, repo: SQLiteRepository) -> None:
        self.repo = repo

    @property
    def _w(self) -> sqlite3.Connection:
        return self.repo._writer

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One writer transaction; `SQLiteRepository.commit` inside it joins it."""
        with self.repo._writer_lock:
            self._w.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._w.execute("ROLLBACK")
                raise
            self._w.execute("COMMIT")

    def remove(self, snippet_id: int, now: float, action: str) -> Removed | None:
        """Delete the row (text and vector with it) and recompute its report and story.

        Must run inside `transaction()`. None when there is no such snippet.
        """
        w = self._w
        found = w.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE id = ?", (snippet_id,)
        ).fetchone()
        if found is None:
            return None
        row = _snippet(found)
        w.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
        report_gone = self._recount_report(row.report_id)
        story_gone = self._recompute_story(row.story_id, now)
        cur = w.execute(
            "INSERT INTO snippet_changes (snippet_id, report_id, story_id, action, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (snippet_id, row.report_id, row.story_id, action, now),
        )
        return Removed(row, report_gone, story_gone, int(cur.lastrowid or 0))

    def _recount_report(self, report_id: int) -> bool:
        count, first = self._w.execute(
            "SELECT COUNT(*), MIN(published_at) FROM snippets WHERE report_id = ?", (report_id,)
        ).fetchone()
        if count == 0:
            self._w.execute("DELETE FROM reports WHERE id = ?", (report_id,))
            return True
        self._w.execute(
            "UPDATE reports SET snippet_count = ?, first_seen = ? WHERE id = ?",
            (count, first, report_id),
        )
        return False

    def _recompute_story(self, story_id: int, now: float) -> bool:
        w = self._w
        rows = w.execute(
            "SELECT id, vector, published_at, lang, report_id, title IS NOT NULL AND title != '' "
            "FROM snippets WHERE story_id = ? ORDER BY id",
            (story_id,),
        ).fetchall()
        current = w.execute(
            "SELECT title_snippet_id FROM stories WHERE id = ?", (story_id,)
        ).fetchone()
        dim = self.repo.dim or (len(rows[0][1]) // 4 if rows else 0)
        members = Members(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            vectors=np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                len(rows), dim
            ),
            published_at=np.array([r[2] for r in rows], dtype=np.float64),
            langs=[r[3] for r in rows],
            report_ids=np.array([r[4] for r in rows], dtype=np.int64),
            has_title=np.array([bool(r[5]) for r in rows], dtype=bool),
        )
        agg = story_aggregate(members, current[0] if current else None)
        w.execute("DELETE FROM story_langs WHERE story_id = ?", (story_id,))
        if agg is None:
            w.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            w.execute(
                "INSERT INTO story_tombstones (id, gone_at) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET gone_at = excluded.gone_at",
                (story_id, now),
            )
            return True
        w.execute(
            "UPDATE stories SET snippet_count = ?, report_count = ?, centroid_sum = ?, "
            "first_seen = ?, last_seen = ?, updated_at = ?, title_snippet_id = ?, title_sim = ? "
            "WHERE id = ?",
            (
                agg.snippet_count,
                agg.report_count,
                np.ascontiguousarray(agg.centroid_sum, dtype=np.float32).tobytes(),
                agg.first_seen,
                agg.last_seen,
                now,
                agg.title_snippet_id,
                agg.title_sim,
                story_id,
            ),
        )
        w.executemany(
            "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?)",
            [(story_id, lang, n) for lang, n in agg.languages.items()],
        )
        return False

    # -- start-up and reads --------------------------------------------------
    def changes_after(self, seq: int) -> tuple[list[int], int]:
        """Snippet ids deleted or replaced after `seq`, and the newest seq (or `seq`)."""
        rows = self.repo._read.execute(
            "SELECT seq, snippet_id FROM snippet_changes WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
        last = rows[-1][0] if rows else seq
        return list(dict.fromkeys(r[1] for r in rows)), int(last)

    def last_change(self) -> int:
        return int(
            self.repo._read.execute("SELECT COALESCE(MAX(seq), 0) FROM snippet_changes").fetchone()[
                0
            ]
        )

    def story_gone(self, story_id: int) -> bool:
        return (
            self.repo._read.execute(
                "SELECT 1 FROM story_tombstones WHERE id = ?", (story_id,)
            ).fetchone()
            is not None
        )

    def snippet_deleted(self, snippet_id: int) -> bool:
        """Deleted and not stored again (a replaced snippet keeps its id)."""
        return (
            self.repo._read.execute(
                "SELECT 1 FROM snippet_changes WHERE snippet_id = ? AND action = 'delete' "
                "AND NOT EXISTS (SELECT 1 FROM snippets WHERE id = ?)",
                (snippet_id, snippet_id),
            ).fetchone()
            is not None
        )

    def purge_wal(self) -> bool:
        """Checkpoint and truncate the WAL so deleted text survives in no file; with
        `secure_delete` on, the freed space in the database is zeroed too. False when a
        reader held the WAL and it could not be emptied now (the next checkpoint will)."""
        with self.repo._writer_lock:
            busy, _, _ = self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0
