"""Deletions and corrections: a row goes, its report is recounted, the change is logged.

Runs inside the writer session's transaction, so a replacement can re-ingest the
corrected snippet in the same commit. Choosing the story's new title is a rule, not
storage: the engine reads `story_members`, computes the aggregate and writes it with
`replace_story` or `drop_story`.
"""

from __future__ import annotations

import numpy as np

from storage.records import Removed, StoryMembers, StoryState
from storage.sqlite.rows import SNIPPET_COLUMNS, snippet_row
from storage.sqlite.session import SQLiteSession, upsert_stories


class CorrectionStore:
    def __init__(self, session: SQLiteSession, dim: int | None) -> None:
        self.session = session
        self.dim = dim

    def remove(self, snippet_id: int, now: float, action: str) -> Removed | None:
        """Delete the row (text and vector with it), recount its report, log the change.
        None when there is no such snippet. Must run inside `session.transaction()`."""
        conn = self.session.conn
        found = conn.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE id = ?", (snippet_id,)
        ).fetchone()
        if found is None:
            return None
        row = snippet_row(found)
        conn.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
        report_gone = self._recount_report(row.report_id)
        cur = conn.execute(
            "INSERT INTO snippet_changes (snippet_id, report_id, story_id, action, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (snippet_id, row.report_id, row.story_id, action, now),
        )
        return Removed(row, report_gone, int(cur.lastrowid or 0))

    def _recount_report(self, report_id: int) -> bool:
        conn = self.session.conn
        count, first = conn.execute(
            "SELECT COUNT(*), MIN(published_at) FROM snippets WHERE report_id = ?", (report_id,)
        ).fetchone()
        if count == 0:
            conn.execute("DELETE FROM reports WHERE id = ?", (report_id,))
            return True
        conn.execute(
            "UPDATE reports SET snippet_count = ?, first_seen = ? WHERE id = ?",
            (count, first, report_id),
        )
        return False

    def story_members(self, story_id: int) -> tuple[StoryMembers, int | None]:
        """The story's remaining snippets and its current title snippet."""
        conn = self.session.conn
        rows = conn.execute(
            "SELECT id, vector, published_at, lang, report_id, title IS NOT NULL AND title != '' "
            "FROM snippets WHERE story_id = ? ORDER BY id",
            (story_id,),
        ).fetchall()
        current = conn.execute(
            "SELECT title_snippet_id FROM stories WHERE id = ?", (story_id,)
        ).fetchone()
        dim = self.dim or (len(rows[0][1]) // 4 if rows else 0)
        members = StoryMembers(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            vectors=np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                len(rows), dim
            ),
            published_at=np.array([r[2] for r in rows], dtype=np.float64),
            langs=[r[3] for r in rows],
            report_ids=np.array([r[4] for r in rows], dtype=np.int64),
            has_title=np.array([bool(r[5]) for r in rows], dtype=bool),
        )
        return members, (current[0] if current else None)

    def replace_story(self, state: StoryState) -> None:
        """A story's recomputed aggregate, its languages replaced."""
        conn = self.session.conn
        conn.execute("DELETE FROM story_langs WHERE story_id = ?", (state.id,))
        upsert_stories(conn.cursor(), [state])
        conn.executemany(
            "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?)",
            [(state.id, lang, n) for lang, n in state.languages.items()],
        )

    def drop_story(self, story_id: int, now: float) -> None:
        """A story emptied by deletions: gone for good, and its id answers 410."""
        conn = self.session.conn
        conn.execute("DELETE FROM story_langs WHERE story_id = ?", (story_id,))
        conn.execute("DELETE FROM stories WHERE id = ?", (story_id,))
        conn.execute(
            "INSERT INTO story_tombstones (id, gone_at) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET gone_at = excluded.gone_at",
            (story_id, now),
        )
