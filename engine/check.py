"""`storyline check`: does the data folder agree with itself?

The database must be whole and self-consistent (storage's own rules: every snippet
in a live report and story, every story's title snippet present, stored counts
equal to what is stored). The index file is a cache: it may lag behind the database
(the service tops it up at start) but must never hold a vector the database does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.recompute import recompute_story
from index import IndexCorruptError
from index.factory import read_faiss_payload
from index.fileformat import distrust as distrust_index
from index.fileformat import read_index_file
from index.untyped import faiss
from storage import open_repository
from storage.base import Repository


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


def repair(repo: Repository, now: float | None = None) -> list[str]:
    """Put right what the stored rows settle, in one writer transaction: report and
    story counts, languages, centres and titles, rows left in retired stories. Returns
    what it changed (empty when nothing needed it). The caller holds the writer: the
    service's writer thread, or the data folder's lock."""
    now = time.time() if now is None else now
    with repo.writer.transaction():
        changed, suspects = repo.repair_rows()
        gone = sum(recompute_story(repo.corrections, sid, now) for sid in suspects)
    if suspects:
        changed.append(f"{len(suspects) - gone} stories recomputed from their snippets")
    if gone:
        changed.append(f"{gone} stories with no snippet left removed (their ids answer 410)")
    return changed


def check(db_path: Path, index_path: Path) -> CheckReport:
    """Raises StorageCorruptError when the database cannot be opened or fails quick_check."""
    repo = open_repository(db_path)
    try:
        report = CheckReport(counts=repo.counts(), problems=repo.problems())
        _check_index(repo, Path(index_path), report)
        return report
    finally:
        repo.close()


def _check_index(repo: Repository, path: Path, report: CheckReport) -> None:
    if not path.exists():
        report.index_status, report.index_detail = "missing", f"no {path}; rebuilt at start"
        return
    try:
        header, payload = read_index_file(path)
        raw = read_faiss_payload(payload)
    except (IndexCorruptError, RuntimeError) as exc:
        distrust_index(path)  # the next start hashes it again, and rebuilds it
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
    total = repo.counts()["snippets"]
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
