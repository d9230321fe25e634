"""The `storyline` command: serve, ingest, stories, show, reindex, check, hash-key, eval,
calibrate, demo (see README.md, CLI). Each command's module imports what it needs when it
runs: `storyline serve` starts the model's process first, so its weights load while the
web stack imports."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

from app.cli import demo, evaluate, ingest, read, reindex, serve
from app.settings import SettingsError, load_settings
from storage.errors import StorageCorruptError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parsers(sub)  # serve, hash-key
    ingest.add_parser(sub)
    read.add_parsers(sub)  # stories, show, check
    reindex.add_parser(sub)
    evaluate.add_parsers(sub)  # eval, calibrate
    demo.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if "PORT" in os.environ and "STORYLINE_PORT" not in os.environ:
        os.environ["STORYLINE_PORT"] = os.environ["PORT"]
    if (argv if argv is not None else sys.argv[1:])[:1] == ["serve"]:
        with contextlib.suppress(ValueError):  # invalid settings: `serve` reports them
            serve.start_model(load_settings())  # before uvicorn's imports
    args = build_parser().parse_args(argv)
    started = time.time()
    try:
        code = int(args.func(args))
    except (StorageCorruptError, SettingsError) as exc:
        print(f"storyline {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command == "ingest" and not args.quiet and code != 2:  # 2: it did not start
        print(f"done in {time.time() - started:.1f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
