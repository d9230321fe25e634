"""DELETE and PUT killed by SIGKILL in a child process: after the commit and before any
index snapshot, or inside the transaction. The restart is consistent either way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.errors import Gone
from tests.helpers import OTHER, QUAKE, ROOT, LiveServer, consistency, post_all

CHILD = r"""
import os, signal, sys, time
from pathlib import Path
from engine.records import Incoming
from app.wiring import build_service
from engine.service import Service
from app.settings import Settings

data_dir, mode, sid = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
svc = build_service(Settings(data_dir=data_dir, writer_linger_ms=1.0))
die = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
if mode == "inside":  # after the rows are gone, before COMMIT
    store = svc.repo.corrections
    remove = store.remove
    store.remove = lambda *a: (remove(*a), die())
if mode in ("delete", "inside"):
    svc.delete_snippet(sid).result()
else:
    now = time.time()
    item = Incoming("Real Madrid win the Clasico", "Real Madrid beat Barcelona 3-1.", "en",
                    None, None, None, None, now)
    svc.replace_snippet(sid, item).result()
print("committed", flush=True)
die()  # before any index snapshot: the file on disk still holds the old vectors
"""


@pytest.mark.parametrize("mode", ["delete", "replace", "inside"])
def test_sigkill_between_commit_and_snapshot(
    mode: str, settings: Settings, embedder: Embedder
) -> None:
    svc = build_service(settings, embedder=embedder)
    with LiveServer(svc) as live, httpx.Client(base_url=live.url, timeout=60) as c:
        posted = post_all(c, [*QUAKE, OTHER])
    old_vec = svc.repo.vectors([posted[0]["id"]])[posted[0]["id"]].copy()
    svc.close()  # the index file now holds every vector
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(settings.data_dir), mode, str(posted[0]["id"])],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert ("committed" in proc.stdout) == (mode != "inside")
    after = build_service(settings, embedder=embedder)
    try:
        consistency(after)
        sid = posted[0]["id"]
        if mode == "delete":
            assert sid not in after.index
            with pytest.raises(Gone):
                after.get_snippet(sid)
        elif mode == "replace":
            row = after.get_snippet(sid)
            assert row["title"] == "Real Madrid win the Clasico"
            vec = after.repo.vectors([sid])[sid]
            assert not np.allclose(vec, old_vec)
            scores, ids = after.index.search(vec.reshape(1, -1), 1)
            assert ids[0][0] == sid and scores[0][0] == pytest.approx(1.0, abs=1e-4)
        else:  # killed inside the transaction: the old state, whole
            assert after.get_snippet(sid)["external_id"] == "q-en"
            assert sid in after.index
            assert after.repo.counts()["snippets"] == len(posted)
    finally:
        after.close()
