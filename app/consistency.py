"""`storyline check`: does the data folder agree with itself?

The database must be whole and self-consistent (every snippet in a live report
and story, every story's title snippet present, stored counts equal to what is
stored). The index file is a cache: it may lag behind the database (the service
tops it up at start) but must never hold a vector the database does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index import IndexCorruptError
from index.factory import read_faiss_payload
from index.fileformat import read_index_file
from storage import SQLiteRepository

# (what is wrong, SQL counting the rows where it is)
_DB_RULES = [
    (
        "snippets in a story that does not exist",
        "SELECT COUNT(*) FROM snippets s LEFT JOIN stories t ON t.id = s.story_id "
        "WHERE t.id IS NULL",
    ),
    (
        "snippets in a report that does not exist",
        "SELECT COUNT(*) FROM snippets s LEFT JOIN reports r ON r.id = s.report_id "
        "WHERE r.id IS NULL",
    ),
    (
        "snippets whose report belongs to another story",
        "SELECT COUNT(*) FROM snippets s JOIN reports r ON r.id = s.report_id "
        "WHERE r.story_id != s.story_id",
    ),
    (
        "reports in a story that does not exist",
        "SELECT COUNT(*) FROM reports r LEFT JOIN stories t ON t.id = r.story_id "
        "WHERE t.id IS NULL",
    ),
    (
        "stories whose title snippet does not exist",
        "SELECT COUNT(*) FROM stories t LEFT JOIN snippets s ON s.id = t.title_snippet_id "
        "WHERE t.title_snippet_id IS NOT NULL AND s.id IS NULL",
    ),
    (
        "stories whose snippet_count differs from their snippets",
        "SELECT COUNT(*) FROM stories t WHERE t.merged_into IS NULL AND t.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.story_id = t.id)",
    ),
    (
        "reports whose snippet_count differs from their snippets",
        "SELECT COUNT(*) FROM reports r WHERE r.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.report_id = r.id)",
    ),
    (
        "snippets in a story merged into another",
        "SELECT COUNT(*) FROM snippets s JOIN stories t ON t.id = s.story_id "
        "WHERE t.merged_into IS NOT NULL",
    ),
]


@dataclass
class CheckReport:
    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)  # the database contradicts itself
    index_status: str = "missing"  # exact | behind | stale | corrupt | missing
    index_detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "counts": self.counts,
            "problems": self.problems,
            "index": {"status": self.index_status, "detail": self.index_detail},
        }


def check(db_path: Path, index_path: Path) -> CheckReport:
    """Raises StorageCorruptError when the database cannot be opened or fails quick_check."""
    repo = SQLiteRepository(db_path)
    try:
        conn = repo._read
        report = CheckReport(counts=repo.counts())
        for what, sql in _DB_RULES:
            n = conn.execute(sql).fetchone()[0]
            if n:
                report.problems.append(f"{n} {what}")
        dims = conn.execute("SELECT DISTINCT LENGTH(vector) FROM snippets").fetchall()
        if len(dims) > 1:
            report.problems.append(f"vectors of several sizes: {sorted(d[0] for d in dims)} bytes")
        _check_index(repo, Path(index_path), report)
        return report
    finally:
        repo.close()


def _check_index(repo: SQLiteRepository, path: Path, report: CheckReport) -> None:
    if not path.exists():
        report.index_status, report.index_detail = "missing", f"no {path}; rebuilt at start"
        return
    try:
        header, payload = read_index_file(path)
        raw = read_faiss_payload(payload)
    except (IndexCorruptError, RuntimeError) as exc:
        report.index_status, report.index_detail = "corrupt", f"{exc}"
        return
    ids = faiss.vector_to_array(raw.id_map).astype(np.int64) if hasattr(raw, "id_map") else None
    if ids is None:
        report.index_status, report.index_detail = "stale", "index kind without an id map"
        return
    stored = repo.vectors(ids.tolist())
    extra = [int(i) for i in ids if int(i) not in stored]
    if extra:
        report.index_status = "stale"
        report.index_detail = f"{len(extra)} ids not in the database (e.g. {extra[:5]}); rebuilt"
        return
    vectors = raw.reconstruct_batch(ids) if len(ids) else np.zeros((0, 0), np.float32)
    wrong = [
        int(i) for i, v in zip(ids, vectors, strict=True) if not np.allclose(v, stored[int(i)])
    ]
    if wrong:
        report.index_status = "stale"
        report.index_detail = f"{len(wrong)} vectors differ from the database (e.g. {wrong[:5]})"
        return
    total = repo._read.execute("SELECT COUNT(*) FROM snippets").fetchone()[0]
    watermark = int(header.get("meta", {}).get("watermark", 0))
    below = repo.count_up_to(watermark)
    if below != len(ids):
        report.index_status = "stale"
        report.index_detail = f"{below - len(ids)} stored snippets up to id {watermark} missing"
    elif len(ids) == total:
        report.index_status = "exact"
        report.index_detail = f"{len(ids)} vectors, equal to the database"
    else:
        report.index_status = "behind"
        report.index_detail = (
            f"{len(ids)} of {total} vectors; the rest are added from the database at start"
        )
