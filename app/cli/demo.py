"""`storyline demo`: real stories in a minute. It serves a data folder of its own
(./demo-data), loads the seed story and a few hundred NTREX-128 news passages in seven
languages through the HTTP API (storyline_client), prints the URLs of the story pages and
keeps serving until Ctrl-C. With `--url` it loads a server that already runs instead.

The data comes from ../shared beside the repository (the seed story page and the NTREX dev
stream); without it, from the small subset shipped in app/cli/demo_data/, and it says so.
Every snippet carries an external_id, so running the demo again stores nothing twice.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.datasets import SHARED  # ../shared beside the checkout

SHIPPED = Path(__file__).resolve().parent / "demo_data"
KEY_ENV = "STORYLINE_API_KEY"


@dataclass
class DemoData:
    seed: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    notes: list[str]


def load_data(passages: int, shared: Path = SHARED) -> DemoData:
    """The seed story and the first `passages` NTREX passages, as snippet bodies: from
    `shared` where it holds them, else from the shipped subset (with a note saying so)."""
    notes: list[str] = []
    page = shared / "seed-story.txt"
    if page.is_file():
        from evaluation.seed import parse_seed

        seed = [
            _drop_none(
                title=it.title,
                text=it.text,
                lang=it.lang,
                source="seed-story",
                external_id=f"seed:{it.key}",
            )
            for it in parse_seed(page)
        ]
        notes.append(f"seed story: {page}")
    else:
        seed = list(_jsonl(SHIPPED / "seed-story.jsonl"))
        notes.append(f"seed story: {page} not found; using the copy in {SHIPPED}")
    stream = shared / "dev-data" / "ntrex" / "passages.jsonl"
    if stream.is_file():
        rows = []
        for n, row in enumerate(_jsonl(stream)):
            if n >= passages:
                break
            rows.append(
                _drop_none(
                    title=row.get("title"),
                    text=row["text"],
                    lang=row["lang"],
                    source=row.get("source"),
                    published_at=row.get("published_at"),
                    external_id=f"ntrex:{row['id']}",
                )
            )
        notes.append(f"news: the first {len(rows)} NTREX-128 passages of {stream}")
    else:
        rows = list(_jsonl(SHIPPED / "ntrex-passages.jsonl"))[:passages]
        notes.append(
            f"news: {stream} not found; using the {len(rows)} NTREX-128 passages shipped in "
            f"{SHIPPED} (put the dev data in ../shared for up to 795)"
        )
    return DemoData(seed, rows, notes)


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_into(url: str, data: DemoData, api_key: str | None = None) -> dict[str, Any]:
    """POST the demo's snippets to the server at `url`; what the demo prints about it."""
    from storyline_client import Client, ItemError, Snippet

    with Client(url, api_key=api_key) as api:
        api.wait_ready(timeout=300)
        seed = api.post_batch([Snippet(**s) for s in data.seed])
        news: list[Any] = []
        for start in range(0, len(data.passages), 100):
            chunk = data.passages[start : start + 100]
            news += api.post_batch([Snippet(**s) for s in chunk])
        refused = [a for a in seed + news if isinstance(a, ItemError)]
        if refused:
            raise RuntimeError(f"the server refused {len(refused)} demo snippets: {refused[0]}")
        homes = Counter(a.story_id for a in seed if not isinstance(a, ItemError))
        biggest = sorted(api.all_stories(), key=lambda s: -int(s["snippet_count"]))[:5]
        return {
            "snippets": len(seed) + len(news),
            "stories": api.info()["counts"]["stories"],
            "seed_story": homes.most_common(1)[0][0],  # where most of the seed page went
            "biggest": biggest,
        }


def cmd_demo(args: argparse.Namespace) -> int:
    data = load_data(args.passages)
    for note in data.notes:
        print(note)
    if args.url:
        return _print(args.url.rstrip("/"), load_into(args.url, data, os.environ.get(KEY_ENV)))
    url = f"http://127.0.0.1:{args.port}"
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "serve.log"
    # Ctrl-C and `kill` stop the server too (SIGINT set even where a shell started the demo
    # with it ignored, as uvicorn does for the server)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"starting storyline serve on {url} (data {data_dir}, log {log_path})")
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(args.port)]
            + ["--host", "127.0.0.1", "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "STORYLINE_LOG_FORMAT": "text"},
        )
    serving = False
    try:
        summary = _load_beside(server, url, data, log_path)
        if summary is None:
            return 2
        _print(url, summary)
        serving = True
        print("\nserving until Ctrl-C", flush=True)
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C, or `kill`: the server stops with the demo
        return 0 if serving else 130
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


def _load_beside(
    server: subprocess.Popen[bytes], url: str, data: DemoData, log_path: Path
) -> dict[str, Any] | None:
    """Load the data once the server answers; None (after saying why) if it stopped."""
    from storyline_client import Client

    with Client(url) as probe:
        deadline = time.monotonic() + 300
        while not probe.ready():
            if server.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                print(
                    f"storyline demo: the server stopped (exit {server.returncode}); is port "
                    f"{url.rsplit(':', 1)[1]} taken? (--port, or PORT=... make demo)\n{tail}",
                    file=sys.stderr,
                )
                return None
            if time.monotonic() > deadline:
                print("storyline demo: the server was not ready in 300 s", file=sys.stderr)
                return None
            time.sleep(0.2)
    started = time.monotonic()
    summary = load_into(url, data)
    summary["seconds"] = time.monotonic() - started
    return summary


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print(url: str, summary: dict[str, Any]) -> int:
    took = f" in {summary['seconds']:.1f} s" if "seconds" in summary else ""
    print(f"\nloaded {summary['snippets']} snippets{took}: {summary['stories']} stories")
    print(f"  story pages:      {url}/")
    print(f"  the seed story:   {url}/stories/{summary['seed_story']}")
    print("  the biggest:")
    for story in summary["biggest"]:
        size = f"{story['snippet_count']} snippets, {len(story['languages'])} languages"
        print(f"    {url}/stories/{story['id']}  ({size}) {story['title'][:60]}")
    print(f"  search:           {url}/?q=La+OTAN+rechaza+la+propuesta+de+Putin")
    print(f"  API docs:         {url}/docs")
    return 0


def add_parser(sub: Any) -> None:  # argparse's subparsers action
    p = sub.add_parser(
        "demo",
        help="serve the seed story and NTREX news passages, and print the story pages' URLs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    p.add_argument("--data-dir", default="demo-data", help="data folder (default ./demo-data)")
    p.add_argument(
        "--passages", type=int, default=300, help="NTREX passages (default 300; 795 in all)"
    )
    p.add_argument(
        "--url",
        help="load a server that runs already (key from $STORYLINE_API_KEY), print, and exit",
    )
    p.set_defaults(func=cmd_demo)
