"""`storyline serve` and `storyline hash-key`: running the HTTP service, and its keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.common import settings_from
from app.settings import Settings


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    start_model(settings)
    from app.wiring import check_ahead

    check_ahead(settings)  # the files' checks run while the web stack imports
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
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    app.state.listen_url = f"http://{host}:{settings.port}"
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


def start_model(settings: Settings) -> None:
    """The model process starts loading before the web stack is imported; the service
    claims it (embeddings.process.model_process)."""
    if settings.model_process:
        from embeddings.process import prestart

        workers, threads = settings.model_layout()
        prestart(settings.model, threads=threads, device=settings.device, workers=workers)


def add_parsers(sub: Any) -> None:  # argparse's subparsers action
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000, or $PORT)")
    p.add_argument("--data-dir", help="data folder (default ./data)")
    p.set_defaults(func=cmd_serve)

    k = sub.add_parser(
        "hash-key",
        help="hash an API key for STORYLINE_API_KEYS (key on stdin, or --generate one)",
    )
    k.add_argument("--role", choices=["read", "write", "admin"], default="read")
    k.add_argument(
        "--generate", action="store_true", help="make a new random key and print it first"
    )
    k.set_defaults(func=cmd_hash_key)
