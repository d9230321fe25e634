"""Storage for the nightly re-index: re-embedded vectors, the snapshot it reads, and the
one transaction that swaps a new generation of assignments in.

Reads go through the reader connection of the calling thread (the swap runs on the
writer thread, which sees every committed batch); writes through the writer session,
so the swap serialises with the online writer's commits and readers keep their WAL
snapshot: they see the old generation or the new one, never a mix.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from storage.records import Regrouping, Scope
from storage.sqlite.reads import Reads
from storage.sqlite.rows import blob, chunks, id_vector_arrays, set_meta
from storage.sqlite.session import SQLiteSession, upsert_reports, upsert_stories


class GenerationStore:
    def __init__(self, session: SQLiteSession, reads: Reads) -> None:
        self.session = session
        self.reads = reads

    # -- reads ---------------------------------------------------------------
    def max_snippet_id(self) -> int:
        return int(
            self.reads.conn.execute("SELECT COALESCE(MAX(id), 0) FROM snippets").fetchone()[0]
        )

    def newest_published(self, upto: int) -> float | None:
        row = self.reads.conn.execute(
            "SELECT MAX(published_at) FROM snippets WHERE id <= ?", (upto,)
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def scope(self, upto: int, cutoff: float | None, after: int = 0) -> Scope:
        """Snippets of every story seen since `cutoff` (whole stories, never a part),
        with ids in (after, upto]."""
        where = "s.id > ? AND s.id <= ?"
        args: list[Any] = [after, upto]
        if cutoff is not None:
            where += " AND s.story_id IN (SELECT id FROM stories WHERE last_seen >= ?)"
            args.append(cutoff)
        return self._scope_where(where, args)

    def _scope_where(self, where: str, args: list[Any]) -> Scope:
        rows = self.reads.conn.execute(
            "SELECT s.id, s.story_id, s.report_id, s.published_at, s.lang, "
            "(s.title IS NOT NULL AND s.title != '') FROM snippets s "
            f"WHERE {where} ORDER BY s.id",
            args,
        ).fetchall()
        return Scope(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            story_ids=np.array([r[1] for r in rows], dtype=np.int64),
            report_ids=np.array([r[2] for r in rows], dtype=np.int64),
            published_at=np.array([r[3] for r in rows], dtype=np.float64),
            langs=[r[4] for r in rows],
            has_title=np.array([bool(r[5]) for r in rows], dtype=bool),
        )

    def stale_ids(self, upto: int, model: str) -> np.ndarray:
        """Snippets embedded by another model and not yet re-embedded by `model`."""
        rows = self.reads.conn.execute(
            "SELECT s.id FROM snippets s WHERE s.id <= ? AND s.model != ? AND NOT EXISTS "
            "(SELECT 1 FROM reembedded r WHERE r.snippet_id = s.id AND r.model = ?) ORDER BY s.id",
            (upto, model, model),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def count_stale(self, upto: int, model: str) -> int:
        return int(
            self.reads.conn.execute(
                "SELECT COUNT(*) FROM snippets WHERE id <= ? AND model != ?", (upto, model)
            ).fetchone()[0]
        )

    def texts(self, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None, str, float]]:
        out: dict[int, tuple[str | None, str | None, str, float]] = {}
        for chunk in chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, title, text, lang, pub in self.reads.conn.execute(
                f"SELECT id, title, text, lang, published_at FROM snippets WHERE id IN ({q})",
                chunk,
            ):
                out[sid] = (title, text, lang, pub)
        return out

    def iter_vectors(
        self, model: str, upto: int, after: int = 0, batch: int = 20_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each snippet's vector for `model`: re-embedded where it was, stored otherwise."""
        last = after
        while True:
            rows = self.reads.conn.execute(
                "SELECT s.id, COALESCE(r.vector, s.vector) FROM snippets s LEFT JOIN reembedded r "
                "ON r.snippet_id = s.id AND r.model = ? WHERE s.id > ? AND s.id <= ? "
                "ORDER BY s.id LIMIT ?",
                (model, last, upto, batch),
            ).fetchall()
            if not rows:
                return
            ids, vecs = id_vector_arrays(rows)
            yield ids, vecs
            last = int(ids[-1])

    def members(self, story_ids: Sequence[int], upto: int) -> Scope:
        """Every snippet (id <= upto) of the given stories: kept as they are, but counted."""
        return self._in("story_id", story_ids, upto)

    def report_members(self, report_ids: Sequence[int], upto: int) -> Scope:
        """Every snippet (id <= upto) now in the given reports."""
        return self._in("report_id", report_ids, upto)

    def _in(self, column: str, values: Sequence[int], upto: int) -> Scope:
        parts = [
            self._scope_where(
                f"s.{column} IN (" + ",".join("?" * len(c)) + ") AND s.id <= ?", [*c, upto]
            )
            for c in chunks([int(i) for i in values])
        ]
        return Scope.concat(parts)

    def rows(self, ids: Sequence[int]) -> Scope:
        """The given snippets that still exist, in id order."""
        parts = [
            self._scope_where("s.id IN (" + ",".join("?" * len(c)) + ")", list(c))
            for c in chunks(sorted(int(i) for i in ids))
        ]
        return Scope.concat(parts)

    def vectors_for(self, ids: Sequence[int] | np.ndarray, model: str) -> np.ndarray:
        """Vectors for `model` in the order of `ids` (re-embedded where there is one)."""
        found: dict[int, bytes] = {}
        for chunk in chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, data in self.reads.conn.execute(
                "SELECT s.id, COALESCE(r.vector, s.vector) FROM snippets s LEFT JOIN reembedded r "
                f"ON r.snippet_id = s.id AND r.model = ? WHERE s.id IN ({q})",
                [model, *chunk],
            ):
                found[sid] = data
        rows = [np.frombuffer(found[int(i)], dtype=np.float32) for i in ids]
        return np.vstack(rows) if rows else np.zeros((0, self.reads.dim or 0), dtype=np.float32)

    def merged_into(self, story_ids: Sequence[int]) -> dict[int, int]:
        """Of the given stories, those merged into another since: id -> survivor."""
        found = self._by_id("stories", "merged_into", story_ids)
        return {k: v for k, v in found.items() if v is not None}

    def titles(self, story_ids: Sequence[int]) -> dict[int, int | None]:
        """Each story's title snippet as stored."""
        return self._by_id("stories", "title_snippet_id", story_ids)

    def stored_knn(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Each snippet's stored neighbour cosines (what online keeps up to date)."""
        found = self._by_id("snippets", "knn_sims", ids)
        return {k: np.frombuffer(v or b"", dtype=np.float32) for k, v in found.items()}

    def story_updated_at(self, ids: Sequence[int]) -> dict[int, float]:
        return self._by_id("stories", "updated_at", ids)

    def _by_id(self, table: str, column: str, ids: Sequence[int]) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for chunk in chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            sql = f"SELECT id, {column} FROM {table} WHERE id IN ({q})"
            out.update(self.reads.conn.execute(sql, chunk).fetchall())
        return out

    # -- writes --------------------------------------------------------------
    def save_reembedded(self, ids: np.ndarray, vectors: np.ndarray, model: str) -> None:
        """One committed batch: what a resumed run will not embed again."""
        with self.session.transaction() as cur:
            cur.executemany(
                "INSERT INTO reembedded (snippet_id, model, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (snippet_id, model) DO UPDATE SET vector = excluded.vector",
                [(int(i), model, blob(v)) for i, v in zip(ids, vectors, strict=True)],
            )

    def drop_reembedded(self, keep_model: str | None = None) -> None:
        """Side vectors are only a resume point; after a swap they are garbage."""
        with self.session.transaction() as cur:
            if keep_model is None:
                cur.execute("DELETE FROM reembedded")
            else:
                cur.execute("DELETE FROM reembedded WHERE model != ?", (keep_model,))

    def write_neighbour_cosines(self, ids: np.ndarray, sims: np.ndarray) -> None:
        """Neighbour cosines ahead of the swap, in a transaction of their own (rows of
        snippets deleted meanwhile are simply not there to update)."""
        with self.session.transaction() as cur:
            _knn_rows(cur, ids, sims)

    def apply(self, gen: Regrouping) -> None:
        """The swap: new vectors, assignments, reports, stories and redirects, atomically."""
        with self.session.transaction() as cur:
            cur.execute(
                "UPDATE snippets SET model = ?, vector = (SELECT r.vector FROM reembedded r "
                "WHERE r.snippet_id = snippets.id AND r.model = ?) WHERE model != ? AND id IN "
                "(SELECT snippet_id FROM reembedded WHERE model = ?)",
                (gen.model, gen.model, gen.model, gen.model),
            )
            cur.executemany(
                "UPDATE snippets SET report_id = ?, story_id = ?, story_sim = ? WHERE id = ?",
                zip(
                    gen.report_ids.tolist(),
                    gen.story_ids.tolist(),
                    gen.story_sims.astype(float).tolist(),
                    gen.snippet_ids.tolist(),
                    strict=True,
                ),
            )
            _knn_rows(cur, gen.knn_ids, gen.knn_sims)
            cur.executemany(
                "DELETE FROM reports WHERE id = ?", [(int(r),) for r in gen.dropped_reports]
            )
            upsert_reports(cur, gen.reports)
            touched = [s.id for s in gen.stories] + list(gen.merged)
            cur.executemany(
                "DELETE FROM story_langs WHERE story_id = ?", [(int(s),) for s in touched]
            )
            upsert_stories(cur, gen.stories, live=True)
            cur.executemany(
                "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?)",
                [(s.id, lang, n) for s in gen.stories for lang, n in s.languages.items()],
            )
            for old, new in gen.merged.items():
                # a retired id keeps its row (old links answer) and points at the
                # survivor; earlier redirects to it follow along (no chains)
                cur.execute(
                    "UPDATE stories SET merged_into = ?, snippet_count = 0, report_count = 0, "
                    "title_snippet_id = NULL, title_sim = 0, updated_at = ? WHERE id = ?",
                    (new, time.time(), old),
                )
                cur.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (new, old))
            for key, value in gen.meta.items():
                set_meta(cur.connection, key, value)


def _knn_rows(cur: Any, ids: np.ndarray, sims: np.ndarray) -> None:
    """Each snippet's neighbour cosines, NaN padding dropped."""
    cur.executemany(
        "UPDATE snippets SET knn_sims = ? WHERE id = ?",
        ((blob(row[np.isfinite(row)]), int(i)) for i, row in zip(ids, sims, strict=True)),
    )
