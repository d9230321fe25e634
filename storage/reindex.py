"""Storage for the nightly re-index: the job registry, re-embedded vectors, and the one
transaction that swaps a new generation of assignments in.

It borrows the repository's connections (one writer, a reader per thread), so
the swap serialises with the online writer's commits and readers keep their
WAL snapshot: they see the old generation or the new one, never a mix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storage.records import ReportState, StoryState
from storage.sqlite import SQLiteRepository, _chunks, id_vector_arrays

ACTIVE = ("queued", "running")


class JobStore:
    """Jobs survive restarts, so `GET /v1/jobs/{id}` answers after the process died."""

    def __init__(self, repo: SQLiteRepository) -> None:
        self.repo = repo

    def create(self, kind: str, params: dict[str, Any]) -> int:
        with self.repo._writer_lock:
            cur = self.repo._writer.execute(
                "INSERT INTO jobs (kind, state, params, created_at) VALUES (?, 'queued', ?, ?)",
                (kind, json.dumps(params), time.time()),
            )
            return int(cur.lastrowid or 0)

    def update(self, job_id: int, **values: Any) -> None:
        cols, args = [], []
        for key, value in values.items():
            if key in ("counts", "summary", "params") and value is not None:
                value = json.dumps(value)
            cols.append(f"{key} = ?")
            args.append(value)
        with self.repo._writer_lock:
            self.repo._writer.execute(
                f"UPDATE jobs SET {', '.join(cols)} WHERE id = ?", (*args, job_id)
            )

    def get(self, job_id: int) -> dict[str, Any] | None:
        row = self.repo._read.execute(
            "SELECT id, kind, state, phase, params, counts, summary, error, created_at, "
            "started_at, finished_at FROM jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "id": row[0],
            "kind": row[1],
            "state": row[2],
            "phase": row[3],
            "params": json.loads(row[4]),
            "counts": json.loads(row[5]),
            "summary": json.loads(row[6]) if row[6] else None,
            "error": row[7],
            "created_at": row[8],
            "started_at": row[9],
            "finished_at": row[10],
        }

    def active(self, kind: str) -> int | None:
        row = self.repo._read.execute(
            "SELECT id FROM jobs WHERE kind = ? AND state IN ('queued', 'running') "
            "ORDER BY id LIMIT 1",
            (kind,),
        ).fetchone()
        return int(row[0]) if row else None

    def fail_interrupted(self) -> list[int]:
        """Jobs a dead process left queued or running: mark them failed, say why."""
        with self.repo._writer_lock:
            rows = self.repo._writer.execute(
                "SELECT id, phase FROM jobs WHERE state IN ('queued', 'running')"
            ).fetchall()
            for job_id, phase in rows:
                self.repo._writer.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?, error = ? WHERE id = ?",
                    (
                        time.time(),
                        f"interrupted: the process stopped during phase {phase or 'start'}; "
                        "run the re-index again (it resumes re-embedding where it stopped)",
                        job_id,
                    ),
                )
        return [r[0] for r in rows]


@dataclass
class Scope:
    """Snippets a re-index works on, as parallel arrays in id order."""

    ids: np.ndarray  # int64
    story_ids: np.ndarray
    report_ids: np.ndarray
    published_at: np.ndarray  # float64
    langs: list[str]
    has_title: np.ndarray  # bool


@dataclass
class Generation:
    """Everything the swap writes, in one transaction."""

    snippet_ids: np.ndarray
    report_ids: np.ndarray
    story_ids: np.ndarray
    story_sims: np.ndarray
    knn_ids: np.ndarray  # snippets whose knn_sims are refreshed
    knn_sims: np.ndarray  # (len(knn_ids), background_k)
    reports: list[ReportState]
    stories: list[StoryState]
    dropped_reports: list[int]
    merged: dict[int, int]  # retired story id -> surviving story id
    model: str
    meta: dict[str, str] = field(default_factory=dict)


def _concat(parts: list[Scope]) -> Scope:
    return Scope(
        ids=np.concatenate([p.ids for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        story_ids=np.concatenate([p.story_ids for p in parts])
        if parts
        else np.zeros(0, dtype=np.int64),
        report_ids=np.concatenate([p.report_ids for p in parts])
        if parts
        else np.zeros(0, dtype=np.int64),
        published_at=np.concatenate([p.published_at for p in parts]) if parts else np.zeros(0),
        langs=[lang for p in parts for lang in p.langs],
        has_title=np.concatenate([p.has_title for p in parts])
        if parts
        else np.zeros(0, dtype=bool),
    )


class GenerationStore:
    def __init__(self, repo: SQLiteRepository) -> None:
        self.repo = repo

    # -- reads ---------------------------------------------------------------
    def max_snippet_id(self) -> int:
        return int(
            self.repo._read.execute("SELECT COALESCE(MAX(id), 0) FROM snippets").fetchone()[0]
        )

    def newest_published(self, upto: int) -> float | None:
        row = self.repo._read.execute(
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
        rows = self.repo._read.execute(
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
        rows = self.repo._read.execute(
            "SELECT s.id FROM snippets s WHERE s.id <= ? AND s.model != ? AND NOT EXISTS "
            "(SELECT 1 FROM reembedded r WHERE r.snippet_id = s.id AND r.model = ?) ORDER BY s.id",
            (upto, model, model),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def count_stale(self, upto: int, model: str) -> int:
        return int(
            self.repo._read.execute(
                "SELECT COUNT(*) FROM snippets WHERE id <= ? AND model != ?", (upto, model)
            ).fetchone()[0]
        )

    def texts(self, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None, str, float]]:
        out: dict[int, tuple[str | None, str | None, str, float]] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, title, text, lang, pub in self.repo._read.execute(
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
            rows = self.repo._read.execute(
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
        parts = [
            self._scope_where(
                "s.story_id IN (" + ",".join("?" * len(c)) + ") AND s.id <= ?", [*c, upto]
            )
            for c in _chunks([int(i) for i in story_ids])
        ]
        return _concat(parts)

    def rows(self, ids: Sequence[int]) -> Scope:
        """The given snippets that still exist, in id order."""
        parts = [
            self._scope_where("s.id IN (" + ",".join("?" * len(c)) + ")", list(c))
            for c in _chunks(sorted(int(i) for i in ids))
        ]
        return _concat(parts)

    def vectors_for(self, ids: Sequence[int] | np.ndarray, model: str) -> np.ndarray:
        """Vectors for `model` in the order of `ids` (re-embedded where there is one)."""
        found: dict[int, bytes] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, blob in self.repo._read.execute(
                "SELECT s.id, COALESCE(r.vector, s.vector) FROM snippets s LEFT JOIN reembedded r "
                f"ON r.snippet_id = s.id AND r.model = ? WHERE s.id IN ({q})",
                [model, *chunk],
            ):
                found[sid] = blob
        rows = [np.frombuffer(found[int(i)], dtype=np.float32) for i in ids]
        return np.vstack(rows) if rows else np.zeros((0, self.repo.dim or 0), dtype=np.float32)

    def story_updated_at(self, ids: Sequence[int]) -> dict[int, float]:
        out: dict[int, float] = {}
        for chunk in _chunks([int(i) for i in ids]):
            q = ",".join("?" * len(chunk))
            for sid, ts in self.repo._read.execute(
                f"SELECT id, updated_at FROM stories WHERE id IN ({q})", chunk
            ):
                out[sid] = ts
        return out

    # -- writes --------------------------------------------------------------
    def save_reembedded(self, ids: np.ndarray, vectors: np.ndarray, model: str) -> None:
        """One committed batch: what a resumed run will not embed again."""
        with self.repo._writer_lock:
            cur = self.repo._writer.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT INTO reembedded (snippet_id, model, vector) VALUES (?, ?, ?) "
                    "ON CONFLICT (snippet_id, model) DO UPDATE SET vector = excluded.vector",
                    [
                        (int(i), model, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                        for i, v in zip(ids, vectors, strict=True)
                    ],
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def drop_reembedded(self, keep_model: str | None = None) -> None:
        """Side vectors are only a resume point; after a swap they are garbage."""
        with self.repo._writer_lock:
            if keep_model is None:
                self.repo._writer.execute("DELETE FROM reembedded")
            else:
                self.repo._writer.execute("DELETE FROM reembedded WHERE model != ?", (keep_model,))

    def apply(self, gen: Generation) -> None:
        """The swap: new vectors, assignments, reports, stories and redirects, atomically."""
        f32 = np.float32
        with self.repo._writer_lock:
            cur = self.repo._writer.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
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
                cur.executemany(
                    "UPDATE snippets SET knn_sims = ? WHERE id = ?",
                    (
                        (np.ascontiguousarray(row[np.isfinite(row)], dtype=f32).tobytes(), int(i))
                        for i, row in zip(gen.knn_ids, gen.knn_sims, strict=True)
                    ),
                )
                cur.executemany(
                    "DELETE FROM reports WHERE id = ?", [(int(r),) for r in gen.dropped_reports]
                )
                cur.executemany(
                    "INSERT INTO reports (id, story_id, first_seen, snippet_count) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "story_id = excluded.story_id, first_seen = excluded.first_seen, "
                    "snippet_count = excluded.snippet_count",
                    [(r.id, r.story_id, r.first_seen, r.snippet_count) for r in gen.reports],
                )
                touched = [s.id for s in gen.stories] + list(gen.merged)
                cur.executemany(
                    "DELETE FROM story_langs WHERE story_id = ?", [(int(s),) for s in touched]
                )
                cur.executemany(
                    "INSERT INTO stories (id, first_seen, last_seen, updated_at, snippet_count, "
                    "report_count, centroid_sum, title_snippet_id, title_sim, merged_into) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET "
                    "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
                    "updated_at = excluded.updated_at, snippet_count = excluded.snippet_count, "
                    "report_count = excluded.report_count, centroid_sum = excluded.centroid_sum, "
                    "title_snippet_id = excluded.title_snippet_id, title_sim = excluded.title_sim, "
                    "merged_into = NULL",
                    [
                        (
                            s.id,
                            s.first_seen,
                            s.last_seen,
                            s.updated_at,
                            s.snippet_count,
                            s.report_count,
                            np.ascontiguousarray(s.centroid_sum, dtype=f32).tobytes(),
                            s.title_snippet_id,
                            s.title_sim,
                        )
                        for s in gen.stories
                    ],
                )
                cur.executemany(
                    "INSERT INTO story_langs (story_id, lang, count) VALUES (?, ?, ?)",
                    [(s.id, lang, n) for s in gen.stories for lang, n in s.languages.items()],
                )
                for old, new in gen.merged.items():
                    # a retired id keeps its row (old links answer) and points at the
                    # survivor; earlier redirects to it follow along (no chains)
                    cur.execute(
                        "UPDATE stories SET merged_into = ?, snippet_count = 0, report_count = 0, "
                        "updated_at = ? WHERE id = ?",
                        (new, time.time(), old),
                    )
                    cur.execute(
                        "UPDATE stories SET merged_into = ? WHERE merged_into = ?", (new, old)
                    )
                for key, value in gen.meta.items():
                    cur.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
