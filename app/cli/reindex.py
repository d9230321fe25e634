"""`storyline reindex`: the nightly job in the foreground, for cron.

It opens the data folder itself, so it refuses (exit 2) while a service holds
it: a running service is re-indexed through `POST /v1/reindex` instead, which
keeps serving while the job runs. Exit 0 on success, 1 when the job failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED, EXIT_BUSY = 1, 2


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "reindex",
        help="re-embed if the model changed, rebuild the index, re-cluster, keep ids",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", help="model to move to (name or path); re-embeds what it must")
    p.add_argument(
        "--window", type=float, metavar="DAYS", help="re-cluster stories seen in the last DAYS"
    )
    p.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    p.add_argument("--data-dir", help="data folder (default ./data)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reindex)


class _Bars:
    """One tqdm bar per phase, replaced when the phase changes."""

    def __init__(self, disable: bool) -> None:
        self.disable = disable
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=phase, unit="it", disable=self.disable, leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_reindex(args: argparse.Namespace) -> int:
    from app.settings import load_settings
    from app.wiring import build_service
    from engine.locking import DataDirBusy
    from engine.reindex import ReindexOptions

    try:
        options = ReindexOptions(model=args.model, window_days=args.window, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"storyline reindex: {exc}", file=sys.stderr)
        return EXIT_BUSY
    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.model:
        overrides["model"] = args.model
    settings = load_settings(**overrides)
    if not settings.db_path.exists():
        print(f"storyline reindex: no database at {settings.db_path}", file=sys.stderr)
        return EXIT_BUSY
    logging.basicConfig(level=logging.WARNING)
    try:
        service = build_service(settings, adopt_model=True)
    except DataDirBusy as exc:
        print(
            f"storyline reindex: {exc}.\nA service is running on this data folder: re-index "
            "through it instead (it keeps serving meanwhile):\n"
            "  curl -X POST http://HOST:PORT/v1/reindex -H 'content-type: application/json' "
            "-d '{\"dry_run\": false}'",
            file=sys.stderr,
        )
        return EXIT_BUSY
    bars = _Bars(disable=args.quiet or not sys.stderr.isatty())
    try:
        job = service.jobs.run(
            "reindex", options.as_dict(), service.reindex_job(options, progress=bars)
        )
    except Exception as exc:
        bars.close()
        print(f"storyline reindex: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        bars.close()
        service.close()
    print_summary(job["id"], job["summary"] or {})
    return 0


def print_summary(job_id: int, s: dict[str, Any]) -> None:
    head = "dry run: nothing was changed" if s.get("dry_run") else "re-index done"
    print(f"{head} (job {job_id}, model {s.get('model')})")
    print(
        f"  snippets: {s.get('snippets_in_scope')} in scope, "
        f"{s.get('snippets_reembedded')} re-embedded, {s.get('moved_snippets')} moved to "
        f"another story, {s.get('carried_over', 0)} arrived during the job"
    )
    print(
        f"  stories: {s.get('stories_before')} before, {s.get('stories_after')} after; "
        f"{s.get('merged')} merged, {s.get('split')} split, {s.get('ids_kept')} ids kept "
        f"({s.get('unchanged')} unchanged), {s.get('new_ids')} new"
    )
    print(f"  reports: {s.get('reports_before')} before, {s.get('reports_after')} after (in scope)")
    rewritten = s.get("rewritten")
    if rewritten:
        print(
            f"  swap wrote: {rewritten['stories']} story rows, {rewritten['reports']} report "
            f"rows, {rewritten['snippets']} snippet placements, "
            f"{rewritten['neighbour_cosines']} neighbour-cosine rows"
        )
    index = s.get("index") or {}
    print(f"  index: {index.get('kind')} with {index.get('size')} vectors")
    seconds = s.get("seconds") or {}
    print("  time: " + ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items()))
    changes = s.get("changes")
    if changes:
        for m in changes["merges"]:
            print(f"  would merge story {m['story']} into {m['into']}")
        for sp in changes["splits"]:
            print(f"  would split story {sp['story']} into parts of {sp['parts']}")
        for mv in changes["moved_examples"]:
            print(f"  would move snippet {mv['snippet']} from story {mv['from']} to {mv['to']}")
