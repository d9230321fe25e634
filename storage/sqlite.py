"""SQLite repository (WAL): one writer connection, a connection per reader thread.

SQL is kept portable (no SQLite-only syntax beyond PRAGMAs and UPSERT, which
PostgreSQL shares) so that another backend can take its place.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import numpy as np

from storage.records import (
    NewSnippet,
    ReportRow,
    ReportState,
    SnippetOutline,
    SnippetRow,
    StoryRow,
    StoryState,
)

SNIPPET_COLUMNS = (
    "id, external_id, title, text, lang, lang_detected, source, url, published_at, "
    "received_at, content_hash, report_id, story_id, status, story_sim"
)


class StorageCorruptError(RuntimeError):
    """The database cannot be trusted; the service must not start on it."""


def _snippet(row: Sequence) -> SnippetRow:
    return SnippetRow(
        id=row[0],
        external_id=row[1],
        title=row[2],
        text=row[3],
        lang=row[4],
        lang_detected=bool(row[5]),
        source=row[6],
        url=row[7],
        published_at=row[8],
        received_at=row[9],
        content_hash=row[10],
        report_id=row[11],
        story_id=row[12],
        status=row[13],
        story_sim=row[14],
    )


def _migrations() -> list[tuple[int, str]]:
    folder = files("storage").joinpath("migrations")
    found = []
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), item.read_text(encoding="utf-8")))
    return sorted(found)


class SQLiteRepository:
    def __init__(self, path: Path, dim: int | None = None, *, check: bool = True) -> None:
        """`check=False` leaves `check_integrity` to the caller: the service runs it on a
        thread beside its other start-up steps (it reads the whole file)."""
        self.path = Path(path)
        self.dim = dim
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Re-entrant: a correction holds it around a transaction that `commit` joins.
        self._writer_lock = threading.RLock()
        try:
            self._writer = self._connect()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc
        if check:
            self.check_integrity()

    def _corrupt(self, exc: sqlite3.DatabaseError) -> StorageCorruptError:
        return StorageCorruptError(
            f"database {self.path} cannot be opened ({exc}); restore it from a backup "
            "or move it away to start empty"
        )

    def check_integrity(self) -> None:
        """`PRAGMA quick_check` on a connection of its own (callable from any thread);
        StorageCorruptError unless the file is sound."""
        try:
            conn = self._connect()
            try:
                integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc
        if integrity != "ok":
            raise StorageCorruptError(
                f"database {self.path} failed its integrity check ({integrity}); restore it "
                "from a backup or move it away to start empty"
            )

    # -- connections ---------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a killed process.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=OFF")
        # Deleted snippets (takedowns) leave zeros behind, not their text.
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    @property
    def _read(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (a WAL snapshot): a re-index swap that
        commits meanwhile is seen whole or not at all."""
        conn = self._read
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        current = self._writer.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in _migrations():
            if number > current:
                self._writer.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")

    def close(self) -> None:
        try:  # noqa: SIM105 - one statement; kept apart from the import block others edit
            # Fold the WAL into the main file, so that a copy of the .db alone is whole.
            self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass
        self._writer.close()

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._writer_lock:
            self._writer.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- writer-side reads ---------------------------------------------------
    def max_ids(self) -> tuple[int, int, int]:
        """Largest snippet, report and story ids ever used (0 when empty): ids of deleted
        snippets, reports and stories are not handed out again."""
        used = [
            self._writer.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]
            for t in ("snippets", "reports", "stories")
        ]
        gone = self._writer.execute(
            "SELECT COALESCE(MAX(snippet_id), 0), COALESCE(MAX(report_id), 0), "
            "COALESCE(MAX(story_id), 0) FROM snippet_changes"
        ).fetchone()
        return tuple(max(a, b) for a, b in zip(used, gone, strict=True))  # type: ignore[return-value]

    def by_external_ids(
        self, external_ids: Sequence[str], writer: bool = False
    ) -> dict[str, SnippetRow]:
        conn = self._writer if writer else self._read
        out: dict[str, SnippetRow] = {}
        for chunk in _chunks(list(external_ids)):
            q = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE external_id IN ({q})", chunk
            ):
                out[row[1]] = _snippet(row)
        return out

    def by_hash(self, content_hash: str) -> list[SnippetRow]:
        rows = self._writer.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE content_hash = ? ORDER BY id",
            (content_hash,),
        ).fetchall()
        return [_snippet(r) for r in rows]

    def snippets(self, ids: Sequence[int], writer: bool = False) -> dict[int, SnippetRow]:
        conn = self._writer if writer else self._read
        out: dict[int, SnippetRow] = {}
        for chunk in _chunks(_storable(ids)):
            q = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE id IN ({q})", chunk
            ):
                out[row[0]] = _snippet(row)
        return out

    def vectors(self, ids: Sequence[int], writer: bool = False) -> dict[int, np.ndarray]:
        conn = self._writer if writer else self._read
        out: dict[int, np.ndarray] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, blob in conn.execute(
                f"SELECT id, vector FROM snippets WHERE id IN ({q})", chunk
            ):
                out[sid] = np.frombuffer(blob, dtype=np.float32)
        return out

    def vectors_and_knn(self, ids: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Vector and nearest-neighbour similarities of report members, in one query."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, blob, knn in self._writer.execute(
                f"SELECT id, vector, knn_sims FROM snippets WHERE id IN ({q})", chunk
            ):
                out[sid] = (
                    np.frombuffer(blob, dtype=np.float32),
                    np.frombuffer(knn, dtype=np.float32),
                )
        return out

    def report_members(self, report_ids: Sequence[int], per_report: int) -> dict[int, list[int]]:
        """Ids of each report's most recently published members (at most `per_report`)."""
        out: dict[int, list[int]] = {int(r): [] for r in report_ids}
        for chunk in _chunks(list(out)):
            q = ",".join("?" * len(chunk))
            for rid, sid in self._writer.execute(
                f"SELECT report_id, id FROM snippets WHERE report_id IN ({q}) "
                "ORDER BY report_id, published_at DESC, id DESC",
                chunk,
            ):
                if len(out[rid]) < per_report:
                    out[rid].append(sid)
        return out

    def knn_sims(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, blob in self._writer.execute(
                f"SELECT id, knn_sims FROM snippets WHERE id IN ({q})", chunk
            ):
                out[sid] = np.frombuffer(blob, dtype=np.float32)
        return out

    def placements(self, ids: Sequence[int]) -> dict[int, tuple[int, int, np.ndarray]]:
        """(report_id, story_id, knn_sims) of each snippet: what the writer needs of its
        neighbours, in one query and without reading and decoding whole rows."""
        out: dict[int, tuple[int, int, np.ndarray]] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, rid, story, knn in self._writer.execute(
                f"SELECT id, report_id, story_id, knn_sims FROM snippets WHERE id IN ({q})",
                chunk,
            ):
                out[sid] = (rid, story, np.frombuffer(knn, dtype=np.float32))
        return out

    def story_states(self, ids: Sequence[int]) -> dict[int, StoryState]:
        out: dict[int, StoryState] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for row in self._writer.execute(
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
                    centroid_sum=np.frombuffer(row[6], dtype=np.float32).copy(),
                    title_snippet_id=row[7],
                    title_sim=row[8],
                    languages={},
                )
            for sid, lang, count in self._writer.execute(
                f"SELECT story_id, lang, count FROM story_langs WHERE story_id IN ({q})", chunk
            ):
                out[sid].languages[lang] = count
        return out

    def report_states(self, ids: Sequence[int]) -> dict[int, ReportState]:
        out: dict[int, ReportState] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for row in self._writer.execute(
                f"SELECT id, story_id, first_seen, snippet_count FROM reports WHERE id IN ({q})",
                chunk,
            ):
                out[row[0]] = ReportState(*row)
        return out

    # -- the one write path --------------------------------------------------
    def commit(
        self,
        snippets: Sequence[NewSnippet],
        stories: Sequence[StoryState],
        reports: Sequence[ReportState],
        model: str,
        knn_updates: dict[int, np.ndarray] | None = None,
        merges: dict[int, int] | None = None,
        moves: dict[int, int] | None = None,
    ) -> None:
        """Snippets, their vectors and every story/report they touched, in one transaction.

        `merges` maps retired story ids to their survivors: their snippets and
        reports move over and the retired row stays behind as a redirect. `moves`
        maps stored snippets to the report they now belong to (same story).
        """
        with self._writer_lock:
            cur = self._writer.cursor()
            joined = self._writer.in_transaction  # inside a correction: its commit decides
            if not joined:
                cur.execute("BEGIN IMMEDIATE")
            try:
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
                            model,
                            np.ascontiguousarray(s.vector, dtype=np.float32).tobytes(),
                            np.ascontiguousarray(s.knn_sims, dtype=np.float32).tobytes(),
                        )
                        for s in snippets
                    ],
                )
                if moves:
                    cur.executemany(
                        "UPDATE snippets SET report_id = ? WHERE id = ?",
                        [(int(r), int(k)) for k, r in moves.items()],
                    )
                if knn_updates:
                    cur.executemany(
                        "UPDATE snippets SET knn_sims = ? WHERE id = ?",
                        [
                            (np.ascontiguousarray(v, dtype=np.float32).tobytes(), int(k))
                            for k, v in knn_updates.items()
                        ],
                    )
                cur.executemany(
                    "INSERT INTO reports (id, story_id, first_seen, snippet_count) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "story_id = excluded.story_id, first_seen = excluded.first_seen, "
                    "snippet_count = excluded.snippet_count",
                    [(r.id, r.story_id, r.first_seen, r.snippet_count) for r in reports],
                )
                cur.executemany(
                    "INSERT INTO stories (id, first_seen, last_seen, updated_at, snippet_count, "
                    "report_count, centroid_sum, title_snippet_id, title_sim) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
                    "updated_at = excluded.updated_at, snippet_count = excluded.snippet_count, "
                    "report_count = excluded.report_count, centroid_sum = excluded.centroid_sum, "
                    "title_snippet_id = excluded.title_snippet_id, title_sim = excluded.title_sim",
                    [
                        (
                            s.id,
                            s.first_seen,
                            s.last_seen,
                            s.updated_at,
                            s.snippet_count,
                            s.report_count,
                            np.ascontiguousarray(s.centroid_sum, dtype=np.float32).tobytes(),
                            s.title_snippet_id,
                            s.title_sim,
                        )
                        for s in stories
                    ],
                )
                cur.executemany(
                    "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (story_id, lang) DO UPDATE SET count = excluded.count",
                    [(s.id, lang, n) for s in stories for lang, n in s.languages.items()],
                )
                for retired, kept in (merges or {}).items():
                    cur.execute(
                        "UPDATE snippets SET story_id = ? WHERE story_id = ?", (kept, retired)
                    )
                    cur.execute(
                        "UPDATE reports SET story_id = ? WHERE story_id = ?", (kept, retired)
                    )
                    cur.execute("UPDATE stories SET merged_into = ? WHERE id = ?", (kept, retired))
                    cur.execute(
                        "UPDATE stories SET merged_into = ? WHERE merged_into = ?", (kept, retired)
                    )
                    cur.execute("DELETE FROM story_langs WHERE story_id = ?", (retired,))
                if not joined:
                    cur.execute("COMMIT")
            except BaseException:
                if not joined:
                    cur.execute("ROLLBACK")
                raise

    # -- reader-side queries -------------------------------------------------
    def get_snippet(self, snippet_id: int) -> SnippetRow | None:
        return self.snippets([snippet_id]).get(snippet_id)

    def story_snippets(self, story_id: int, report_ids: Sequence[int]) -> list[SnippetRow]:
        """The snippets of these reports of a story (a page of its view), oldest first."""
        out: list[SnippetRow] = []
        for chunk in _chunks(_storable(report_ids)):
            q = ",".join("?" * len(chunk))
            out += [
                _snippet(r)
                for r in self._read.execute(
                    f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE story_id = ? "
                    f"AND report_id IN ({q})",
                    (story_id, *chunk),
                )
            ]
        return sorted(out, key=lambda r: (r.published_at, r.id))

    def story_outline(self, story_id: int) -> list[SnippetOutline]:
        """Every snippet of a story without its text: enough to order reports and pick a
        title, so a story page reads the text of one page only."""
        rows = self._read.execute(
            "SELECT id, report_id, published_at, lang, title IS NOT NULL AND title != '' "
            "FROM snippets WHERE story_id = ? ORDER BY published_at, id",
            (story_id,),
        ).fetchall()
        return [SnippetOutline(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def story_vectors(self, story_id: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._read.execute(
            "SELECT id, vector FROM snippets WHERE story_id = ? ORDER BY id", (story_id,)
        ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, vecs.reshape(len(rows), -1) if rows else vecs.reshape(0, self.dim or 0)

    def stories(self, ids: Sequence[int]) -> dict[int, StoryRow]:
        out: dict[int, StoryRow] = {}
        for chunk in _chunks(_storable(ids)):
            q = ",".join("?" * len(chunk))
            rows = self._read.execute(
                "SELECT id, first_seen, last_seen, updated_at, snippet_count, report_count, "
                f"merged_into FROM stories WHERE id IN ({q})",
                chunk,
            ).fetchall()
            langs: dict[int, dict[str, int]] = {}
            for sid, lang, count in self._read.execute(
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
        where, args = ["merged_into IS NULL"], []
        if after is not None:
            where.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
            args += [after[0], after[0], after[1]]
        if lang is not None:
            where.append("id IN (SELECT story_id FROM story_langs WHERE lang = ?)")
            args.append(lang)
        if since is not None:
            where.append("last_seen >= ?")
            args.append(since)
        rows = self._read.execute(
            f"SELECT id FROM stories WHERE {' AND '.join(where)} "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def title_snippets(self, story_ids: Sequence[int]) -> dict[int, SnippetRow]:
        """Each story's default title snippet, as the writer last chose it."""
        out: dict[int, SnippetRow] = {}
        for chunk in _chunks([int(i) for i in story_ids]):
            q = ",".join("?" * len(chunk))
            cols = ", ".join(f"s.{c.strip()}" for c in SNIPPET_COLUMNS.split(","))
            for row in self._read.execute(
                f"SELECT st.id, {cols} FROM stories st JOIN snippets s "
                f"ON s.id = st.title_snippet_id WHERE st.id IN ({q})",
                chunk,
            ):
                out[row[0]] = _snippet(row[1:])
        return out

    def story_sources(
        self, story_ids: Sequence[int], per_story: int = 5
    ) -> dict[int, list[tuple[str, int]]]:
        """Each story's most frequent sources with their snippet counts, for the list page."""
        out: dict[int, list[tuple[str, int]]] = {}
        for chunk in _chunks([int(i) for i in story_ids]):
            q = ",".join("?" * len(chunk))
            for sid, source, n in self._read.execute(
                "SELECT story_id, source, COUNT(*) AS n FROM snippets "
                f"WHERE story_id IN ({q}) AND source IS NOT NULL "
                "GROUP BY story_id, source ORDER BY story_id, n DESC, source",
                chunk,
            ):
                got = out.setdefault(sid, [])
                if len(got) < per_story:
                    got.append((source, n))
        return out

    def report_rows(self, story_id: int) -> list[ReportRow]:
        rows = self._read.execute(
            "SELECT id, story_id, first_seen, snippet_count FROM reports WHERE story_id = ? "
            "ORDER BY first_seen, id",
            (story_id,),
        ).fetchall()
        return [ReportRow(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        conn = self._read
        return {
            "snippets": conn.execute("SELECT COUNT(*) FROM snippets").fetchone()[0],
            "reports": conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0],
            "stories": conn.execute(
                "SELECT COUNT(*) FROM stories WHERE merged_into IS NULL"
            ).fetchone()[0],
        }

    def iter_vectors(
        self, after_id: int = 0, batch: int = 10_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in id order, in batches: the index is rebuilt from this."""
        last = after_id
        while True:
            rows = self._read.execute(
                "SELECT id, vector FROM snippets WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            ids, vecs = id_vector_arrays(rows)
            yield ids, vecs
            last = int(ids[-1])

    def count_up_to(self, snippet_id: int) -> int:
        return self._read.execute(
            "SELECT COUNT(*) FROM snippets WHERE id <= ?", (snippet_id,)
        ).fetchone()[0]


def _storable(ids: Sequence[int]) -> list[int]:
    """Ids SQLite can hold (signed 64-bit); any other names nothing, rather than overflowing."""
    return [int(i) for i in ids if -(2**63) <= int(i) < 2**63]


def id_vector_arrays(rows: Sequence[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """(id, vector blob) rows as an id array and a (n, dim) float32 matrix."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, vecs.reshape(len(rows), -1)


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
