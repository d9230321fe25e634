"""Models by spec and their layout, without loading or starting one: an unknown spec names
what to do, texts split between processes, and processes and threads per device (the
processes themselves: tests/integration/test_model_process.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from embeddings import load_embedder
from embeddings.process import split


def test_split_keeps_order_balances_characters_and_leaves_small_inputs_whole() -> None:
    texts = ["x" * 100] * 10 + ["y" * 10] * 90  # half the characters in the first ten
    parts = split(texts, 2)
    assert [t for part in parts for t in part] == texts
    assert [len(p) for p in parts] == [10, 90]
    assert split(texts[:15], 2) == [texts[:15]]  # a second run needs 8 texts of its own
    assert len(split(texts, 3)) == 3
    assert split([], 2) == [[]]


def test_model_layout_one_thread_per_process_on_cpu_one_process_on_a_gpu(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).model_layout() == (2, 1)  # the defaults: 2 threads
    assert Settings(data_dir=tmp_path, embed_threads=4, model_workers=2).model_layout() == (2, 2)
    assert Settings(data_dir=tmp_path, device="cuda").model_layout() == (1, 2)
    assert Settings(data_dir=tmp_path, model_workers=1).model_layout() == (1, 2)


def test_unknown_model_names_the_spec_and_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="local model directory"):
        load_embedder("/nonexistent/model-dir-xyz")
