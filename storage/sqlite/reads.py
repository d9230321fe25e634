"""The read side: a connection per reader thread, never blocked by the writer (WAL)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from storage.records import ReportRow, SnippetOutline, SnippetRow, StoryRow
from storage.sqlite.rows import (
    SNIPPET_COLUMNS,
    chunks,
    id_vector_arrays,
    marks,
    snippet_row,
    snippets_by_external_id,
    snippets_by_id,
    storable,
    vectors_by_id,
)
from storage.sqlite.schema import connect


class Reads:
    def __init__(self, path: Path, dim: int | None) -> None:
        self.path = path
        self.dim = dim
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (a WAL snapshot): a re-index swap that
        commits meanwhile is seen whole or not at all."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- snippets ------------------------------------------------------------
    def get_snippet(self, snippet_id: int) -> SnippetRow | None:
        return self.snippets([snippet_id]).get(snippet_id)

    def snippets(self, ids: Sequence[int]) -> dict[int, SnippetRow]:
        return snippets_by_id(self.conn, ids)

    def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, SnippetRow]:
        return snippets_by_external_id(self.conn, external_ids)

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        return vectors_by_id(self.conn, ids)

    def iter_vectors(
        self, after_id: int = 0, batch: int = 10_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in id order, in batches: the index is rebuilt from this."""
        last = after_id
        while True:
            rows = self.conn.execute(
                "SELECT id, vector FROM snippets WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            ids, vecs = id_vector_arrays(rows)
            yield ids, vecs
            last = int(ids[-1])

    def count_up_to(self, snippet_id: int) -> int:
        """Counted over the narrow story index, not the rowid range of the table: the
        table holds every vector and text (5 GB at a million snippets: 0.8-1.2 s against
        0.03 s), and start-up asks this of the index file's watermark."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM snippets INDEXED BY snippets_story WHERE id <= ?",
                (snippet_id,),
            ).fetchone()[0]
        )

    def counts(self) -> dict[str, int]:
        conn = self.conn
        return {
            "snippets": conn.execute("SELECT COUNT(*) FROM snippets").fetchone()[0],
            "reports": conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0],
            # all rows less the redirects, each count over an index: `WHERE merged_into
            # IS NULL` read every story row (its centre blob too), 0.2-1.2 s at 1M
            "stories": conn.execute(
                "SELECT (SELECT COUNT(*) FROM stories) - "
                "(SELECT COUNT(*) FROM stories WHERE merged_into IS NOT NULL)"
            ).fetchone()[0],
        }

    # -- stories -------------------------------------------------------------
    def stories(self, ids: Sequence[int]) -> dict[int, StoryRow]:
        out: dict[int, StoryRow] = {}
        for chunk in chunks(storable(ids)):
            q = marks(chunk)
            rows = self.conn.execute(
                "SELECT id, first_seen, last_seen, updated_at, snippet_count, report_count, "
                f"merged_into FROM stories WHERE id IN ({q})",
                chunk,
            ).fetchall()
            langs: dict[int, dict[str, int]] = {}
            for sid, lang, count in self.conn.execute(
                f"SELECT story_id, lang, count FROM story_langs WHERE story_id IN ({q}) "
                "ORDER BY count DESC, lang",
                chunk,
            ):
                langs.setdefault(sid, {})[lang] = count
            for r in rows:
                out[r[0]] = StoryRow(
                    id=r[0],
                    first_seen=r[1],
                    last_seen=r[2],
                    updated_at=r[3],
                    snippet_count=r[4],
                    report_count=r[5],
                    languages=langs.get(r[0], {}),
                    merged_into=r[6],
                )
        return out

    def story_page(
        self,
        limit: int,
        after: tuple[float, int] | None = None,
        lang: str | None = None,
        since: float | None = None,
    ) -> list[int]:
        """Story ids, most recently updated first, strictly after the cursor `after`."""
        where: list[str] = ["merged_into IS NULL"]
        args: list[Any] = []
        if after is not None:
            where.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
            args += [after[0], after[0], after[1]]
        if lang is not None:
            where.append("id IN (SELECT story_id FROM story_langs WHERE lang = ?)")
            args.append(lang)
        if since is not None:
            where.append("last_seen >= ?")
            args.append(since)
        rows = self.conn.execute(
            f"SELECT id FROM stories WHERE {' AND '.join(where)} "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def title_snippets(self, story_ids: Sequence[int]) -> dict[int, SnippetRow]:
        """Each story's default title snippet, as the writer last chose it."""
        out: dict[int, SnippetRow] = {}
        cols = ", ".join(f"s.{c.strip()}" for c in SNIPPET_COLUMNS.split(","))
        for chunk in chunks([int(i) for i in story_ids]):
            for row in self.conn.execute(
                f"SELECT st.id, {cols} FROM stories st JOIN snippets s "
                f"ON s.id = st.title_snippet_id WHERE st.id IN ({marks(chunk)})",
                chunk,
            ):
                out[row[0]] = snippet_row(row[1:])
        return out

    def story_sources(
        self, story_ids: Sequence[int], per_story: int = 5
    ) -> dict[int, list[tuple[str, int]]]:
        """Each story's most frequent sources with their snippet counts, for the list page."""
        out: dict[int, list[tuple[str, int]]] = {}
        for chunk in chunks([int(i) for i in story_ids]):
            for sid, source, n in self.conn.execute(
                "SELECT story_id, source, COUNT(*) AS n FROM snippets "
                f"WHERE story_id IN ({marks(chunk)}) AND source IS NOT NULL "
                "GROUP BY story_id, source ORDER BY story_id, n DESC, source",
                chunk,
            ):
                got = out.setdefault(sid, [])
                if len(got) < per_story:
                    got.append((source, n))
        return out

    def story_outline(self, story_id: int) -> list[SnippetOutline]:
        """Every snippet of a story without its text: enough to order reports and pick a
        title, so a story page reads the text of one page only."""
        rows = self.conn.execute(
            "SELECT id, report_id, published_at, lang, title IS NOT NULL AND title != '' "
            "FROM snippets WHERE story_id = ? ORDER BY published_at, id",
            (story_id,),
        ).fetchall()
        return [SnippetOutline(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def story_snippets(self, story_id: int, report_ids: Sequence[int]) -> list[SnippetRow]:
        """The snippets of these reports of a story (a page of its view), oldest first."""
        out: list[SnippetRow] = []
        for chunk in chunks(storable(report_ids)):
            out += [
                snippet_row(r)
                for r in self.conn.execute(
                    f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE story_id = ? "
                    f"AND report_id IN ({marks(chunk)})",
                    (story_id, *chunk),
                )
            ]
        return sorted(out, key=lambda r: (r.published_at, r.id))

    def story_vectors(self, story_id: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.conn.execute(
            "SELECT id, vector FROM snippets WHERE story_id = ? ORDER BY id", (story_id,)
        ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, vecs.reshape(len(rows), -1) if rows else vecs.reshape(0, self.dim or 0)

    def report_rows(self, story_id: int) -> list[ReportRow]:
        rows = self.conn.execute(
            "SELECT id, story_id, first_seen, snippet_count FROM reports WHERE story_id = ? "
            "ORDER BY first_seen, id",
            (story_id,),
        ).fetchall()
        return [ReportRow(*r) for r in rows]

    # -- the change log (deletions and corrections) --------------------------
    def changes_after(self, seq: int) -> tuple[list[int], int]:
        """Snippet ids deleted or replaced after `seq`, and the newest seq (or `seq`)."""
        rows = self.conn.execute(
            "SELECT seq, snippet_id FROM snippet_changes WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
        last = rows[-1][0] if rows else seq
        return list(dict.fromkeys(r[1] for r in rows)), int(last)

    def last_change(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM snippet_changes").fetchone()
        return int(row[0])

    def story_gone(self, story_id: int) -> bool:
        """Emptied by deletions (answers 410, not 404)."""
        found = self.conn.execute(
            "SELECT 1 FROM story_tombstones WHERE id = ?", (story_id,)
        ).fetchone()
        return found is not None

    def snippet_deleted(self, snippet_id: int) -> bool:
        """Deleted and not stored again (a replaced snippet keeps its id)."""
        found = self.conn.execute(
            "SELECT 1 FROM snippet_changes WHERE snippet_id = ? AND action = 'delete' "
            "AND NOT EXISTS (SELECT 1 FROM snippets WHERE id = ?)",
            (snippet_id, snippet_id),
        ).fetchone()
        return found is not None
