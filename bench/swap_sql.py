"""What the swap's SQL costs on a large store, statement group by statement group.

    python bench/swap_sql.py DB [--snippets 26000] [--neighbours 90000] [--reports 22000]
                             [--stories 31000] [--cache-mb 0] [--mmap-mb 0]
                             [--out bench/results/swap_sql.json]

DB is a *copy* of a filled store (it is written to: run it on a copy of the database a
`bench/service.py --parts stored --stored 1000000 --work DIR` run left in DIR/stored).
The defaults are the row counts the 1M swap of `bench/swap_pause.py` rewrote
(bench/results/swap_pause.json): snippet placements, neighbour cosines, report rows and
story rows with their languages, each group in one transaction on random existing ids,
through the service's own connection settings (WAL, synchronous=FULL), then the commit.
`--cache-mb` / `--mmap-mb` set SQLite's page cache and memory-mapped I/O for the run, to
see what they are worth. Timing the groups apart says which of them the writer's pause
is made of, without a 40-minute re-index job per try.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.sqlite.schema import connect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--snippets", type=int, default=26_000)
    ap.add_argument("--neighbours", type=int, default=90_000)
    ap.add_argument("--reports", type=int, default=22_000)
    ap.add_argument("--stories", type=int, default=31_000)
    ap.add_argument("--cache-mb", type=int, default=0, help="PRAGMA cache_size (0: default)")
    ap.add_argument("--mmap-mb", type=int, default=0, help="PRAGMA mmap_size (0: off)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "swap_sql.json")
    args = ap.parse_args(argv)

    conn = connect(args.db)
    if args.cache_mb:
        conn.execute(f"PRAGMA cache_size = -{args.cache_mb * 1024}")
    if args.mmap_mb:
        conn.execute(f"PRAGMA mmap_size = {args.mmap_mb << 20}")
    rng = np.random.default_rng(args.seed)

    def ids_of(table: str, n: int) -> list[int]:
        top = conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]
        return sorted(rng.choice(np.arange(1, top + 1), min(n, top), replace=False).tolist())

    snippets = conn.execute("SELECT COUNT(*) FROM snippets").fetchone()[0]
    dim = len(conn.execute("SELECT centroid_sum FROM stories LIMIT 1").fetchone()[0]) // 4
    seconds: dict[str, float] = {}
    cur = conn.cursor()

    def timed(name: str, sql: str, rows: list[tuple]) -> None:
        started = time.perf_counter()
        cur.executemany(sql, rows)
        seconds[name] = round(time.perf_counter() - started, 3)
        print(f"{name}: {len(rows)} rows in {seconds[name]:.2f} s", flush=True)

    cur.execute("BEGIN IMMEDIATE")
    timed(
        "placements",
        "UPDATE snippets SET report_id = report_id, story_id = story_id, story_sim = ? "
        "WHERE id = ?",
        [(float(rng.random()), i) for i in ids_of("snippets", args.snippets)],
    )
    timed(
        "neighbour_cosines",
        "UPDATE snippets SET knn_sims = ? WHERE id = ?",
        [
            (rng.random(4).astype(np.float32).tobytes(), i)
            for i in ids_of("snippets", args.neighbours)
        ],
    )
    timed(
        "reports",
        "UPDATE reports SET first_seen = first_seen + 0.0, snippet_count = ? WHERE id = ?",
        [(int(rng.integers(1, 9)), i) for i in ids_of("reports", args.reports)],
    )
    story_ids = ids_of("stories", args.stories)
    timed(
        "stories",
        "UPDATE stories SET centroid_sum = ?, title_sim = ? WHERE id = ?",
        [(rng.random(dim).astype(np.float32).tobytes(), 0.5, i) for i in story_ids],
    )
    timed("story_langs", "DELETE FROM story_langs WHERE story_id = ?", [(i,) for i in story_ids])
    wal = args.db.with_name(args.db.name + "-wal")
    started = time.perf_counter()
    cur.execute("COMMIT")
    seconds["commit"] = round(time.perf_counter() - started, 3)
    wal_mb = round(os.path.getsize(wal) / 1e6, 1) if wal.exists() else None
    print(f"commit: {seconds['commit']:.2f} s (WAL {wal_mb} MB)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "snippets_stored": snippets,
        "rows": {
            "placements": args.snippets,
            "neighbour_cosines": args.neighbours,
            "reports": args.reports,
            "stories": args.stories,
        },
        "cache_mb": args.cache_mb,
        "mmap_mb": args.mmap_mb,
        "seconds": seconds,
        "total_s": round(sum(seconds.values()), 3),
        "wal_mb": wal_mb,
    }
    print(f"total {result['total_s']:.2f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
