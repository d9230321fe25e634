"""The writer session: the one connection that writes, and the reads the writer makes.

One per data folder. Its reads see its own uncommitted writes (a correction
re-ingests a snippet inside the transaction that removed the old one), and every
write happens inside `transaction()`, which nests: an inner one joins the outer,
whose end decides. Corrections, generations and jobs write through it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from storage.records import BatchWrite, ReportState, SnippetRow, StoryState
from storage.sqlite.rows import (
    SNIPPET_COLUMNS,
    blob,
    chunks,
    floats,
    marks,
    set_meta,
    snippet_row,
    snippets_by_external_id,
    snippets_by_id,
    vectors_by_id,
)


class SQLiteSession:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Re-entrant: a correction holds it around a transaction that `commit` joins; job
        # threads write their progress through it too.
        self.lock = threading.RLock()
        self.folded = False  # the last checkpoint put every WAL frame in the main file
        # Called after each commit and checkpoint (one may have written the main file), with
        # `lock` held: the service keeps its in-use mark current (`SQLiteRepository.hold_marks`).
        self.after_write: Callable[[], None] | None = None

    def _written(self) -> None:
        if self.after_write is not None:
            self.after_write()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error); inside another, joins it."""
        with self.lock:
            cur = self.conn.cursor()
            if self.conn.in_transaction:
                yield cur
                return
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            self._written()

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            set_meta(self.conn, key, value)
            if not self.conn.in_transaction:
                self._written()

    def checkpoint(self, mode: str = "PASSIVE") -> int:
        """Fold the WAL into the main file; the number of busy readers that kept part of it
        (TRUNCATE also empties the file, so deleted text survives in no file)."""
        assert mode in ("PASSIVE", "TRUNCATE")
        with self.lock:
            busy, log, done = self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            self._written()
        self.folded = busy == 0 and log == done  # every WAL frame is in the main file
        return int(busy)

    # -- the writer's reads --------------------------------------------------
    def max_ids(self) -> tuple[int, int, int]:
        """Largest snippet, report and story ids ever used (0 when empty): ids of deleted
        snippets, reports and stories are not handed out again."""
        used = [
            self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]
            for t in ("snippets", "reports", "stories")
        ]
        gone = self.conn.execute(
            "SELECT COALESCE(MAX(snippet_id), 0), COALESCE(MAX(report_id), 0), "
            "COALESCE(MAX(story_id), 0) FROM snippet_changes"
        ).fetchone()
        snippet, report, story = (max(a, b) for a, b in zip(used, gone, strict=True))
        return snippet, report, story

    def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, SnippetRow]:
        return snippets_by_external_id(self.conn, external_ids)

    def by_hash(self, content_hash: str) -> list[SnippetRow]:
        rows = self.conn.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE content_hash = ? ORDER BY id",
            (content_hash,),
        ).fetchall()
        return [snippet_row(r) for r in rows]

    def snippets(self, ids: Sequence[int]) -> dict[int, SnippetRow]:
        return snippets_by_id(self.conn, ids)

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        return vectors_by_id(self.conn, ids)

    def vectors_and_knn(self, ids: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Vector and nearest-neighbour similarities of report members, in one query."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for chunk in chunks([int(i) for i in ids]):
            for sid, vector, knn in self.conn.execute(
                f"SELECT id, vector, knn_sims FROM snippets WHERE id IN ({marks(chunk)})", chunk
            ):
                out[sid] = (floats(vector), floats(knn))
        return out

    def report_members(self, report_ids: Sequence[int], per_report: int) -> dict[int, list[int]]:
        """Ids of each report's most recently published members (at most `per_report`)."""
        out: dict[int, list[int]] = {int(r): [] for r in report_ids}
        for chunk in chunks(list(out)):
            for rid, sid in self.conn.execute(
                f"SELECT report_id, id FROM snippets WHERE report_id IN ({marks(chunk)}) "
                "ORDER BY report_id, published_at DESC, id DESC",
                chunk,
            ):
                if len(out[rid]) < per_report:
                    out[rid].append(sid)
        return out

    def knn_sims(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for chunk in chunks([int(i) for i in ids]):
            for sid, knn in self.conn.execute(
                f"SELECT id, knn_sims FROM snippets WHERE id IN ({marks(chunk)})", chunk
            ):
                out[sid] = floats(knn)
        return out

    def placements(self, ids: Sequence[int]) -> dict[int, tuple[int, int, np.ndarray]]:
        """(report_id, story_id, knn_sims) of each snippet: what the writer needs of its
        neighbours, in one query and without reading and decoding whole rows."""
        out: dict[int, tuple[int, int, np.ndarray]] = {}
        for chunk in chunks([int(i) for i in ids]):
            for sid, rid, story, knn in self.conn.execute(
                "SELECT id, report_id, story_id, knn_sims FROM snippets "
                f"WHERE id IN ({marks(chunk)})",
                chunk,
            ):
                out[sid] = (rid, story, floats(knn))
        return out

    def story_states(self, ids: Sequence[int]) -> dict[int, StoryState]:
        out: dict[int, StoryState] = {}
        for chunk in chunks([int(i) for i in ids]):
            q = marks(chunk)
            for row in self.conn.execute(
                "SELECT id, first_seen, last_seen, updated_at, snippet_count, report_count, "
                f"centroid_sum, title_snippet_id, title_sim FROM stories WHERE id IN ({q})",
                chunk,
            ):
                out[row[0]] = StoryState(
                    id=row[0],
                    first_seen=row[1],
                    last_seen=row[2],
                    updated_at=row[3],
                    snippet_count=row[4],
                    report_count=row[5],
                    centroid_sum=floats(row[6]).copy(),
                    title_snippet_id=row[7],
                    title_sim=row[8],
                    languages={},
                )
            for sid, lang, count in self.conn.execute(
                f"SELECT story_id, lang, count FROM story_langs WHERE story_id IN ({q})", chunk
            ):
                out[sid].languages[lang] = count
        return out

    def report_states(self, ids: Sequence[int]) -> dict[int, ReportState]:
        out: dict[int, ReportState] = {}
        for chunk in chunks([int(i) for i in ids]):
            for row in self.conn.execute(
                "SELECT id, story_id, first_seen, snippet_count FROM reports "
                f"WHERE id IN ({marks(chunk)})",
                chunk,
            ):
                out[row[0]] = ReportState(*row)
        return out

    # -- the one write path of ingest ------------------------------------------
    def commit(self, batch: BatchWrite) -> None:
        """Snippets, their vectors and every story and report they touched, in one
        transaction (or in the caller's, inside a correction)."""
        with self.transaction() as cur:
            _insert_snippets(cur, batch)
            if batch.moves:
                cur.executemany(
                    "UPDATE snippets SET report_id = ? WHERE id = ?",
                    [(int(r), int(k)) for k, r in batch.moves.items()],
                )
            if batch.knn:
                cur.executemany(
                    "UPDATE snippets SET knn_sims = ? WHERE id = ?",
                    [(blob(v), int(k)) for k, v in batch.knn.items()],
                )
            upsert_reports(cur, batch.reports)
            upsert_stories(cur, batch.stories)
            cur.executemany(
                "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?) "
                "ON CONFLICT (story_id, lang) DO UPDATE SET count = excluded.count",
                [(s.id, lang, n) for s in batch.stories for lang, n in s.languages.items()],
            )
            for retired, kept in batch.merges.items():
                _merge(cur, retired, kept)


def _insert_snippets(cur: sqlite3.Cursor, batch: BatchWrite) -> None:
    cur.executemany(
        "INSERT INTO snippets (id, external_id, title, text, lang, lang_detected, "
        "source, url, published_at, received_at, content_hash, report_id, story_id, "
        "status, story_sim, model, vector, knn_sims) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                s.id,
                s.external_id,
                s.title,
                s.text,
                s.lang,
                int(s.lang_detected),
                s.source,
                s.url,
                s.published_at,
                s.received_at,
                s.content_hash,
                s.report_id,
                s.story_id,
                s.status,
                s.story_sim,
                batch.model,
                blob(s.vector),
                blob(s.knn_sims),
            )
            for s in batch.snippets
        ],
    )


def upsert_reports(cur: sqlite3.Cursor, reports: Sequence[ReportState]) -> None:
    cur.executemany(
        "INSERT INTO reports (id, story_id, first_seen, snippet_count) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "story_id = excluded.story_id, first_seen = excluded.first_seen, "
        "snippet_count = excluded.snippet_count",
        [(r.id, r.story_id, r.first_seen, r.snippet_count) for r in reports],
    )


def upsert_stories(cur: sqlite3.Cursor, stories: Sequence[StoryState], live: bool = False) -> None:
    """Insert or update story rows (not their languages). `live`: also clear a redirect
    (the re-index may bring a retired id back)."""
    clear = ", merged_into = NULL" if live else ""
    cur.executemany(
        "INSERT INTO stories (id, first_seen, last_seen, updated_at, snippet_count, "
        "report_count, centroid_sum, title_snippet_id, title_sim) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
        "updated_at = excluded.updated_at, snippet_count = excluded.snippet_count, "
        "report_count = excluded.report_count, centroid_sum = excluded.centroid_sum, "
        f"title_snippet_id = excluded.title_snippet_id, title_sim = excluded.title_sim{clear}",
        [
            (
                s.id,
                s.first_seen,
                s.last_seen,
                s.updated_at,
                s.snippet_count,
                s.report_count,
                blob(s.centroid_sum),
                s.title_snippet_id,
                s.title_sim,
            )
            for s in stories
        ],
    )


def _merge(cur: sqlite3.Cursor, retired: int, kept: int) -> None:
    """The retired story's snippets and reports move over; its row stays as a redirect,
    and earlier redirects to it follow along (no chains)."""
    cur.execute("UPDATE snippets SET story_id = ? WHERE story_id = ?", (kept, retired))
    cur.execute("UPDATE reports SET story_id = ? WHERE story_id = ?", (kept, retired))
    cur.execute("UPDATE stories SET merged_into = ? WHERE id = ?", (kept, retired))
    cur.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (kept, retired))
    cur.execute("DELETE FROM story_langs WHERE story_id = ?", (retired,))
