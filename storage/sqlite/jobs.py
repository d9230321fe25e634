"""Jobs survive restarts, so `GET /v1/jobs/{id}` answers after the process died."""

from __future__ import annotations

import json
import time
from typing import Any

from storage.sqlite.reads import Reads
from storage.sqlite.session import SQLiteSession

ACTIVE = ("queued", "running")


class JobStore:
    """Jobs survive restarts, so `GET /v1/jobs/{id}` answers after the process died."""

    def __init__(self, session: SQLiteSession, reads: Reads) -> None:
        self.session = session
        self.reads = reads

    def create(self, kind: str, params: dict[str, Any]) -> int:
        with self.session.transaction() as cur:
            cur.execute(
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
        with self.session.transaction() as cur:
            cur.execute(f"UPDATE jobs SET {', '.join(cols)} WHERE id = ?", (*args, job_id))

    def get(self, job_id: int) -> dict[str, Any] | None:
        row = self.reads.conn.execute(
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
        row = self.reads.conn.execute(
            "SELECT id FROM jobs WHERE kind = ? AND state IN ('queued', 'running') "
            "ORDER BY id LIMIT 1",
            (kind,),
        ).fetchone()
        return int(row[0]) if row else None

    def fail_interrupted(self) -> list[int]:
        """Jobs a dead process left queued or running: mark them failed, say why."""
        with self.session.transaction() as cur:
            rows = cur.execute(
                "SELECT id, phase FROM jobs WHERE state IN ('queued', 'running')"
            ).fetchall()
            for job_id, phase in rows:
                cur.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?, error = ? WHERE id = ?",
                    (
                        time.time(),
                        f"interrupted: the process stopped during phase {phase or 'start'}; "
                        "run the re-index again (it resumes re-embedding where it stopped)",
                        job_id,
                    ),
                )
        return [r[0] for r in rows]
