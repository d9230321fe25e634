"""The `storyline` command: serve, ingest, stories, show, reindex, check, hash-key, eval,
calibrate (see README.md, CLI)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import Settings

if TYPE_CHECKING:
    from app.reader import StoryReader

# The rest of the package is imported where it is used: `storyline serve` starts the
# model's process first, so its weights load while the web stack imports.


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _start_model(settings)
    import uvicorn

    from app.api import create_app
    from app.http.auth import KeyConfigError, exposure_problem, parse_keys
    from app.observability.logging import configure

    configure(settings.log_level, settings.log_format)
    try:
        parse_keys(settings.api_keys)
    except KeyConfigError as exc:
        print(f"storyline serve: STORYLINE_API_KEYS: {exc}", file=sys.stderr)
        return 2
    problem = exposure_problem(settings)
    if problem:
        print(f"storyline serve: {problem}", file=sys.stderr)
        return 2
    app = create_app(settings)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # keep our formatter: one JSON line per record, with a request id
            access_log=False,  # RequestContext logs each request, with its id and route
        )
    except SystemExit:
        failure = getattr(app.state, "startup_error", None)
        if failure is None:
            raise
        print(f"storyline serve: cannot start: {failure}", file=sys.stderr)
        return 2
    return 0


def cmd_hash_key(args: argparse.Namespace) -> int:
    """Print the `role:sha256` entry for STORYLINE_API_KEYS; the key itself is never stored."""
    import getpass
    import secrets

    from app.http.auth import hash_key

    if args.generate:
        key = secrets.token_urlsafe(32)
        print(key)
    elif sys.stdin.isatty():
        key = getpass.getpass("API key: ")
    else:
        key = sys.stdin.readline().rstrip("\r\n")
    if len(key) < 16:
        print("storyline hash-key: use a key of at least 16 characters", file=sys.stderr)
        return 2
    print(f"{args.role}:{hash_key(key)}")
    return 0


def _lines(path: Path, batch: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                chunk.append((number, line))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.service import Service
    from app.validation import FieldError, parse_item

    path = Path(args.file)
    if not path.is_file():
        print(f"storyline ingest: no such file: {path}", file=sys.stderr)
        return 2
    settings = _settings(args)
    logging.basicConfig(level=logging.WARNING)
    service = Service(settings)
    counts = {"created": 0, "duplicate": 0, "exists": 0, "rejected": 0}
    rejected: list[str] = []
    total = path.stat().st_size
    try:
        with tqdm(total=total, unit="B", unit_scale=True, desc="ingest", disable=args.quiet) as bar:
            for chunk in _lines(path, args.batch_size):
                good = []
                for number, line in chunk:
                    try:
                        raw = json.loads(line)
                        good.append(parse_item(raw, settings))
                    except json.JSONDecodeError as exc:
                        counts["rejected"] += 1
                        rejected.append(f"line {number}: not valid JSON ({exc.msg})")
                    except FieldError as exc:
                        counts["rejected"] += 1
                        rejected.append(f"line {number}: {exc.message}")
                if good:
                    for outcome in service.ingest(good):
                        counts[outcome.status] += 1
                bar.update(sum(len(line.encode("utf-8")) for _, line in chunk))
                bar.set_postfix(
                    created=counts["created"],
                    duplicate=counts["duplicate"],
                    rejected=counts["rejected"],
                )
    finally:
        service.close()
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    for line in rejected[: args.show_rejected]:
        print(f"  rejected {line}")
    if len(rejected) > args.show_rejected:
        print(f"  ... and {len(rejected) - args.show_rejected} more rejected lines")
    return 0 if counts["rejected"] == 0 or args.allow_rejected else 1


def _open_reader(args: argparse.Namespace) -> StoryReader:
    """Reads need no model and no writer lock, so they work beside a running service."""
    from app.reader import StoryReader
    from storage import SQLiteRepository

    settings = _settings(args)
    if not settings.db_path.exists():
        raise SystemExit(f"storyline: no database at {settings.db_path}; ingest something first")
    return StoryReader(SQLiteRepository(settings.db_path))


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
    from app.reader import NotFound

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
        f"story {story['id']}: {story['snippet_count']} snippets, {story['report_count']} "
        f"reports ({langs}); {story['first_seen'][:16]} .. {story['last_seen'][:16]}\n"
    )
    for n, report in enumerate(story["reports"], 1):
        lead = report["lead"]
        print(f"{n:>3}. [{lead['lang']}] {_headline(lead)}")
        for v in report["variants"]:
            print(f"       - [{v['lang']}] {_headline(v)}")
    return 0


def _headline(snippet: dict) -> str:
    from stories.text import display_title

    return display_title(snippet["title"], snippet["text"], 110)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0: consistent; 1: the database contradicts itself (or --strict and the index
    file is not exact); 2: the database is corrupt or absent."""
    from app.consistency import check

    settings = _settings(args)
    if not settings.db_path.exists():
        print(f"storyline check: no database at {settings.db_path}", file=sys.stderr)
        return 2
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000, or $PORT)")
    serve.add_argument("--data-dir", help="data folder (default ./data)")
    serve.set_defaults(func=cmd_serve)

    ingest = sub.add_parser("ingest", help="load snippets from a JSON-lines file")
    ingest.add_argument("file", help="one snippet object per line")
    ingest.add_argument("--data-dir")
    ingest.add_argument("--batch-size", type=int, default=256)
    ingest.add_argument(
        "--show-rejected", type=int, default=20, help="rejected lines to list (default 20)"
    )
    ingest.add_argument(
        "--allow-rejected", action="store_true", help="exit 0 even when some lines were rejected"
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=cmd_ingest)

    stories = sub.add_parser("stories", help="list the newest stories")
    stories.add_argument("--limit", type=int, default=20)
    stories.add_argument("--data-dir")
    stories.set_defaults(func=cmd_stories)

    from app.reindex import cli as reindex_cli

    reindex_cli.add_parser(sub)

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
    chk.set_defaults(func=cmd_check)

    hashkey = sub.add_parser(
        "hash-key",
        help="hash an API key for STORYLINE_API_KEYS (key on stdin, or --generate one)",
    )
    hashkey.add_argument("--role", choices=["read", "write", "admin"], default="read")
    hashkey.add_argument(
        "--generate", action="store_true", help="make a new random key and print it first"
    )
    hashkey.set_defaults(func=cmd_hash_key)

    from evaluation.commands import register as register_evaluation

    register_evaluation(sub)  # eval, calibrate
    return parser


def _start_model(settings: Settings) -> None:
    """The model process starts loading before the web stack is imported; the service
    claims it (embeddings.process.model_process)."""
    if settings.model_process:
        from embeddings.process import prestart

        workers, threads = settings.model_layout()
        prestart(settings.model, threads=threads, device=settings.device, workers=workers)


def main(argv: list[str] | None = None) -> int:
    from storage.sqlite import StorageCorruptError

    if "PORT" in os.environ and "STORYLINE_PORT" not in os.environ:
        os.environ["STORYLINE_PORT"] = os.environ["PORT"]
    if (argv if argv is not None else sys.argv[1:])[:1] == ["serve"]:
        with contextlib.suppress(ValueError):  # invalid settings: `serve` reports them
            _start_model(Settings())  # before the imports below and uvicorn's
    args = build_parser().parse_args(argv)
    started = time.time()
    try:
        code = int(args.func(args))
    except StorageCorruptError as exc:
        print(f"storyline {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command == "ingest" and not args.quiet:
        print(f"done in {time.time() - started:.1f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
