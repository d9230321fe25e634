"""`storyline ingest`: a JSON-lines file into the data folder, with a progress bar."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.cli.common import settings_from


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

    from app.validation import FieldError, parse_item
    from app.wiring import build_service

    path = Path(args.file)
    if not path.is_file():
        print(f"storyline ingest: no such file: {path}", file=sys.stderr)
        return 2
    settings = settings_from(args)
    logging.basicConfig(level=logging.WARNING)
    service = build_service(settings)
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


def add_parser(sub: Any) -> None:  # argparse's subparsers action
    p = sub.add_parser("ingest", help="load snippets from a JSON-lines file")
    p.add_argument("file", help="one snippet object per line")
    p.add_argument("--data-dir")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--show-rejected", type=int, default=20, help="rejected lines to list (default 20)"
    )
    p.add_argument(
        "--allow-rejected", action="store_true", help="exit 0 even when some lines were rejected"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)
