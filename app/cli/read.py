"""`storyline stories`, `show` and `check`: reads that need no model and no writer lock,
so they work beside a running service."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.common import settings_from
from engine.errors import NotFound
from engine.reader import StoryReader
from engine.views import SnippetView
from storage import open_repository
from stories.text import display_title


def _open_reader(args: argparse.Namespace) -> StoryReader:
    settings = settings_from(args)
    if not settings.db_path.exists():
        raise SystemExit(f"storyline: no database at {settings.db_path}; ingest something first")
    return StoryReader(open_repository(settings.db_path))


def cmd_stories(args: argparse.Namespace) -> int:
    reader = _open_reader(args)
    try:
        stories, _ = reader.list_stories(args.limit)
    finally:
        reader.repo.close()
    if not stories:
        print("no stories yet")
        return 0
    print(f"{'id':>7}  {'snips':>5}  {'reps':>4}  {'langs':<14}  {'last seen':<20}  title")
    for s in stories:
        langs = ",".join(f"{k}:{v}" for k, v in s["languages"].items())
        print(
            f"{s['id']:>7}  {s['snippet_count']:>5}  {s['report_count']:>4}  {langs:<14.14}  "
            f"{s['last_seen'][:19]:<20}  {s['title'][:70]}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    reader = _open_reader(args)
    try:
        story = reader.get_story(args.story_id, args.lang)
    except NotFound as exc:
        print(f"storyline show: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.repo.close()
    if args.json:
        print(json.dumps(story, ensure_ascii=False, indent=2))
        return 0
    print(story["title"])
    langs = ", ".join(f"{k} {v}" for k, v in story["languages"].items())
    print(
        f"story {story['id']}: {plural(story['snippet_count'], 'snippet')}, "
        f"{plural(story['report_count'], 'report')} ({langs}); "
        f"{story['first_seen'][:16]} .. {story['last_seen'][:16]}\n"
    )
    for n, report in enumerate(story["reports"], 1):
        lead = report["lead"]
        print(f"{n:>3}. [{lead['lang']}] {_headline(lead)}")
        for v in report["variants"]:
            print(f"       - [{v['lang']}] {_headline(v)}")
    return 0


def plural(n: int, word: str) -> str:
    """'1 report', '2 reports' (the pages' helper; app.pages would load the web stack)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _headline(snippet: SnippetView) -> str:
    return display_title(snippet["title"], snippet["text"], 110)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0: consistent; 1: the database contradicts itself (or --strict and the index
    file is not exact); 2: the database is corrupt or absent, or --repair found the
    folder held by a running service."""
    from engine.check import check

    settings = settings_from(args)
    if not settings.db_path.exists():
        print(f"storyline check: no database at {settings.db_path}", file=sys.stderr)
        return 2
    if args.repair:
        code = _repair(settings.data_dir, settings.db_path)
        if code:
            return code
    report = check(settings.db_path, settings.index_path)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        counts = " ".join(f"{k}={v}" for k, v in report.counts.items())
        print(f"database {settings.db_path}: {'ok' if report.ok else 'INCONSISTENT'} ({counts})")
        for problem in report.problems:
            print(f"  problem: {problem}")
        print(f"index {settings.index_path}: {report.index_status}: {report.index_detail}")
    if not report.ok:
        return 1
    return 1 if args.strict and report.index_status != "exact" else 0


def _repair(data_dir: Path, db_path: Path) -> int:
    """`check --repair`: it writes, so it needs the folder to itself."""
    from engine.check import repair
    from engine.locking import DataDirBusy, DataDirLock

    try:
        lock = DataDirLock(data_dir)
    except DataDirBusy as exc:
        print(
            f"storyline check --repair: {exc}.\nA running service repairs its own data at "
            "the end of every re-index (POST /v1/reindex); or stop it and repair here.",
            file=sys.stderr,
        )
        return 2
    repo = open_repository(db_path)
    try:
        changed = repair(repo)
    finally:
        repo.close()
        lock.release()
    for line in changed or ["nothing to repair"]:
        print(f"repaired: {line}")
    return 0


def add_parsers(sub: Any) -> None:  # argparse's subparsers action
    stories = sub.add_parser("stories", help="list the newest stories")
    stories.add_argument("--limit", type=int, default=20)
    stories.add_argument("--data-dir")
    stories.set_defaults(func=cmd_stories)

    show = sub.add_parser("show", help="print one story with its reports and variants")
    show.add_argument("story_id", type=int)
    show.add_argument("--lang", help="preferred language for title and leads")
    show.add_argument("--json", action="store_true", help="print the JSON view")
    show.add_argument("--data-dir")
    show.set_defaults(func=cmd_show)

    chk = sub.add_parser("check", help="verify the database and that the index file matches it")
    chk.add_argument("--data-dir")
    chk.add_argument("--json", action="store_true", help="print the report as JSON")
    chk.add_argument(
        "--strict", action="store_true", help="also fail unless the index file equals the database"
    )
    chk.add_argument(
        "--repair",
        action="store_true",
        help="first put right what the stored rows settle (counts, titles); needs the "
        "data folder to itself",
    )
    chk.set_defaults(func=cmd_check)
