"""The container's health check: exit 0 when the service on this machine answers
`/readyz` with 200, 1 otherwise (`python -m app.healthcheck`, the Dockerfile's HEALTHCHECK).

It finds the service where `storyline serve` puts it: the port from STORYLINE_PORT, then
PORT, then 8000; the host from STORYLINE_HOST, with a wildcard address (0.0.0.0, ::)
probed on loopback. Standard library only: it runs every 30 seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

TIMEOUT = 4.0  # below the Dockerfile's --timeout=5s


def readyz_url(env: Mapping[str, str]) -> str:
    port = env.get("STORYLINE_PORT") or env.get("PORT") or "8000"
    host = env.get("STORYLINE_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/readyz"


def main(env: Mapping[str, str] = os.environ) -> int:
    url = readyz_url(env)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"storyline healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"storyline healthcheck: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
