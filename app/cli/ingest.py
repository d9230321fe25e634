"""`storyline ingest`: a JSON-lines file into the data folder, or into a running server
over HTTP (`--url`), with a progress bar that counts snippets.

Every line is checked before anything loads: a file with mistakes is reported in a
second, not after the model has loaded. Then the good lines go to the service in
batches: in this process (it takes the data folder's writer lock, so a server on the
same folder must be stopped first) or to the server at `--url` (storyline_client,
retries as the API's rules allow).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.cli.common import settings_from
from app.settings import Settings

EXIT_REJECTED, EXIT_USAGE = 1, 2
# The fields of a snippet line: the body of POST /v1/snippets.
FIELDS = ("text", "title", "lang", "source", "url", "published_at", "external_id")
API_KEY_ENV = "STORYLINE_API_KEY"


@dataclass
class Checked:
    """What the first pass found: the good lines' numbers, the rejected lines and why,
    the fields that were dropped (with --strict they reject the line instead)."""

    good: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    without_lang: int = 0


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield number, line


def _snippet(line: str, strict: bool) -> tuple[dict[str, Any], list[str]]:
    """The line's snippet fields and the names of the other fields it had. ValueError:
    not a JSON object (or, when strict, a field outside the format)."""
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("each line must be a JSON object")
    extra = [k for k in raw if k not in FIELDS]
    if extra and strict:
        raise ValueError(f"unknown field {extra[0]!r} (--strict)")
    return {k: v for k, v in raw.items() if k in FIELDS}, extra


def check(path: Path, settings: Settings, strict: bool = False) -> Checked:
    """Validate every line as the API would, without loading a model."""
    from app.validation import FieldError, parse_item

    out = Checked()
    for number, line in _lines(path):
        try:
            body, extra = _snippet(line, strict)
            item = parse_item(body, settings)
        except json.JSONDecodeError as exc:
            out.rejected.append((number, f"not valid JSON ({exc.msg})"))
        except ValueError as exc:  # FieldError is one too
            message = exc.message if isinstance(exc, FieldError) else str(exc)
            out.rejected.append((number, message))
        else:
            out.good.append(number)
            out.ignored.update(extra)
            out.without_lang += item.lang is None
    return out


def _good_batches(
    path: Path, good: list[int], size: int, strict: bool
) -> Iterator[list[dict[str, Any]]]:
    wanted = set(good)
    chunk: list[dict[str, Any]] = []
    for number, line in _lines(path):
        if number in wanted:
            chunk.append(_snippet(line, strict)[0])
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def cmd_ingest(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"storyline ingest: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    settings = settings_from(args)
    found = check(path, settings, args.strict)
    counts = {"created": 0, "duplicate": 0, "exists": 0, "rejected": len(found.rejected)}
    rejected = list(found.rejected)
    if found.good:
        send = _over_http(args) if args.url else _in_process(settings, found, path)
        if send is None:
            return EXIT_USAGE
        code = _run(path, found, args, send, counts, rejected)
        if code:
            return code
    _report(counts, rejected, found.ignored, args.show_rejected)
    return 0 if counts["rejected"] == 0 or args.allow_rejected else EXIT_REJECTED


Sender = Callable[[list[dict[str, Any]]], list[str | tuple[str, str]]]


def _run(
    path: Path,
    found: Checked,
    args: argparse.Namespace,
    send: tuple[Sender, Callable[[], None]],
    counts: dict[str, int],
    rejected: list[tuple[int, str]],
) -> int:
    """Send the good lines batch by batch; each answer is a status or (rejected, why)."""
    from tqdm import tqdm

    post, close = send
    numbers = iter(found.good)
    try:
        with tqdm(
            total=len(found.good), unit=" snippets", desc="ingest", disable=args.quiet
        ) as bar:
            for chunk in _good_batches(path, found.good, args.batch_size, args.strict):
                for answer in post(chunk):
                    number = next(numbers)
                    if isinstance(answer, tuple):
                        counts["rejected"] += 1
                        rejected.append((number, answer[1]))
                    else:
                        counts[answer] += 1
                bar.update(len(chunk))
                bar.set_postfix(created=counts["created"], duplicate=counts["duplicate"])
    except _Stop as exc:
        print(f"storyline ingest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        close()
    rejected.sort()
    return 0


class _Stop(Exception):
    """The run cannot go on (the server went away, or refused every request)."""


def _in_process(
    settings: Settings, found: Checked, path: Path
) -> tuple[Sender, Callable[[], None]] | None:
    """The service on the data folder, in this process; None (after saying why) when a
    server holds the folder."""
    from app.validation import parse_item
    from app.wiring import build_service
    from engine.locking import DataDirBusy, DataDirLock

    try:  # before any model loads: a server on the folder is found in a moment
        DataDirLock(settings.data_dir).release()
    except DataDirBusy as exc:
        _busy(settings, exc, str(path))
        return None
    logging.basicConfig(level=logging.WARNING)
    try:
        service = build_service(settings, languages="start" if found.without_lang else "demand")
    except DataDirBusy as exc:
        _busy(settings, exc, str(path))
        return None

    def post(chunk: list[dict[str, Any]]) -> list[str | tuple[str, str]]:
        return [o.status for o in service.ingest([parse_item(b, settings) for b in chunk])]

    return post, service.close


def _busy(settings: Settings, exc: Exception, file: str) -> None:
    """Say who holds the folder and the two ways on: the server's URL when it wrote one."""
    try:
        url = settings.server_url_path.read_text(encoding="utf-8").strip()
    except OSError:
        url = ""
    print(
        f"storyline ingest: {exc}.\n"
        f"A server is running on this data folder{f' at {url}' if url else ''}. Send the "
        "file to it over HTTP:\n"
        f"  storyline ingest --url {url or 'http://HOST:PORT'} {file}\n"
        "or stop the server first.",
        file=sys.stderr,
    )


def _over_http(args: argparse.Namespace) -> tuple[Sender, Callable[[], None]] | None:
    import httpx

    from storyline_client import Client, ItemError, Snippet, StorylineError

    api = Client(args.url, api_key=os.environ.get(API_KEY_ENV) or None)
    try:
        api.info()
    except (httpx.HTTPError, StorylineError) as exc:
        api.close()
        hint = (
            f" (set {API_KEY_ENV} to a key with the write role)"
            if isinstance(exc, StorylineError) and exc.status in (401, 403)
            else ""
        )
        print(f"storyline ingest: cannot use {args.url}: {exc}{hint}", file=sys.stderr)
        return None

    def post(chunk: list[dict[str, Any]]) -> list[str | tuple[str, str]]:
        try:
            answers = api.post_batch([Snippet(**body) for body in chunk])
        except (httpx.HTTPError, StorylineError) as exc:
            raise _Stop(
                f"{args.url} failed: {exc}; lines sent before were stored (run again: "
                "lines with an external_id answer `exists` instead of being stored twice)"
            ) from exc
        return [("rejected", a.message) if isinstance(a, ItemError) else a.status for a in answers]

    return post, api.close


def _report(
    counts: dict[str, int], rejected: list[tuple[int, str]], ignored: Counter[str], show: int
) -> None:
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    if ignored:
        names = ", ".join(f"{name} ({n} lines)" for name, n in ignored.most_common())
        print(f"  ignored fields outside the snippet format: {names} (--strict rejects them)")
    for number, reason in rejected[:show]:
        print(f"  rejected line {number}: {reason}")
    if len(rejected) > show:
        print(f"  ... and {len(rejected) - show} more rejected lines")


def add_parser(sub: Any) -> None:  # argparse's subparsers action
    p = sub.add_parser(
        "ingest",
        help="load snippets from a JSON-lines file",
        description="One snippet per line, as the body of POST /v1/snippets: "
        '{"text", "title", "lang", "source", "url", "published_at", "external_id"} '
        "(text or title required). Example: examples/snippets.jsonl.",
    )
    p.add_argument("file", help="one snippet object per line")
    p.add_argument("--data-dir", help="data folder (default ./data)")
    p.add_argument(
        "--url",
        help="send to the server at this URL over HTTP (key from $STORYLINE_API_KEY) instead "
        "of opening the data folder",
    )
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--strict", action="store_true", help="reject lines with fields outside the format"
    )
    p.add_argument(
        "--show-rejected", type=int, default=20, help="rejected lines to list (default 20)"
    )
    p.add_argument(
        "--allow-rejected", action="store_true", help="exit 0 even when some lines were rejected"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)
