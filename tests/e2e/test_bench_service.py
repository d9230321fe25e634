"""The service benchmark, tiny: a run of bench/service.py completes and writes every figure
(no timing is judged; the synthetic data it uses: tests/unit/test_bench_synthetic.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_service_benchmark_tiny_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "service.json"
    cmd = [sys.executable, "bench/service.py", "--quick", "--n-real", "40", "--stored", "300",
           "--rounds", "1", "--reads", "10", "--n-single", "5", "--http-batch", "20",
           "--fill-batch", "100", "--work", str(tmp_path / "work"), "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads(out.read_text())
    figures = res["summary"]["figures"]
    for key in ("raw_embed_per_s", "raw_processes_per_s", "http_ingest_per_s", "ingest_ratio",
                "ingest_ratio_to_processes", "single_post_p50_ms",
                "single_post_p99_ms", "get_story_p50_ms", "get_story_p99_ms", "restart_s",
                "restart_after_kill_s", "rss_bytes_per_snippet"):  # fmt: skip
        assert isinstance(figures[key], float), key
    assert figures["stored_snippets"] == 300
    stored = res["stored"]
    assert stored["counts"]["snippets"] == 300
    assert stored["index"]["size"] == 300
    assert 0 < stored["counts"]["stories"] <= 300
    assert set(stored["restart"]) >= {"after_sigterm_s", "after_sigkill_s", "index_rebuild_s"}
    assert res["real_model"]["snippets"] == 40
    assert set(res["summary"]["met"]) == {"ingest_ratio", "get_story_p99_ms", "restart_s"}
