"""The embedding queue's mechanics (pure: a recording stand-in for the model, no meaning
needed): arrival order, what waits is embedded together, models never mixed, and a
failure reaches every request of its call and stops nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from embeddings import ModelIdentity
from engine.embed_queue import EmbedQueue, StaleModel


class Recording:
    """Row i of a call is [len(text), call number]; the first call can be held open."""

    def __init__(self, name: str = "rec", fail_on: int | None = None) -> None:
        self.identity = ModelIdentity(name, 2, "1")
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.fail_on = fail_on

    def embed(self, texts: list[str]) -> np.ndarray:
        self.started.set()
        self.release.wait(10)
        self.calls.append(list(texts))
        if len(self.calls) == self.fail_on:
            raise RuntimeError("model broke")
        return np.array([[len(t), len(self.calls)] for t in texts], dtype=np.float32)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


def texts(prefix: str, n: int) -> list[str]:
    return [prefix * (i + 1) for i in range(n)]


def test_requests_waiting_behind_a_busy_model_share_one_call_up_to_the_batch() -> None:
    model = Recording()
    model.release.clear()
    queue = EmbedQueue(batch=25)
    first = queue.submit(model, texts("a", 5))
    assert model.started.wait(5)  # the thread is inside the first call now
    waiting = [queue.submit(model, texts(p, 10)) for p in "bcd"]
    model.release.set()
    results = [f.result(10) for f in [first, *waiting]]
    # b and c (20 texts) fit the batch of 25 together; d would make 30 and waits.
    assert [len(c) for c in model.calls] == [5, 20, 10]
    assert [r[:, 1].tolist() for r in results] == [[1] * 5, [2] * 10, [2] * 10, [3] * 10]
    for result, prefix in zip(results[1:], "bcd", strict=True):  # each its own rows, in order
        assert result[:, 0].tolist() == [len(t) for t in texts(prefix, 10)]


def test_another_model_is_never_in_the_same_call() -> None:
    old, new = Recording("old"), Recording("new")
    old.release.clear()
    queue = EmbedQueue(batch=100)
    first = queue.submit(old, ["x"])
    assert old.started.wait(5)
    a, b, c = queue.submit(new, ["y"]), queue.submit(old, ["z"]), queue.submit(new, ["w"])
    old.release.set()
    for f in (first, a, b, c):
        f.result(10)
    assert old.calls == [["x"], ["z"]] and new.calls == [["y"], ["w"]]


def test_a_failed_call_fails_each_of_its_requests_and_the_queue_goes_on() -> None:
    model = Recording(fail_on=2)
    model.release.clear()
    queue = EmbedQueue(batch=10)
    first = queue.submit(model, ["a"])
    assert model.started.wait(5)
    broken = [queue.submit(model, ["b"]), queue.submit(model, ["c"])]
    model.release.set()
    first.result(10)
    for f in broken:
        with pytest.raises(RuntimeError, match="model broke"):
            f.result(10)
    assert queue.submit(model, ["d"]).result(10)[:, 1].tolist() == [3]


def test_requests_for_a_replaced_model_fail_without_calling_it() -> None:
    old, new = Recording("old"), Recording("new")
    in_place = [old]
    old.release.clear()
    queue = EmbedQueue(batch=10, current=lambda e: e is in_place[0])
    first = queue.submit(old, ["a"])
    assert old.started.wait(5)
    stale = queue.submit(old, ["b"])
    in_place[0] = new  # the swap, while the first call runs
    old.release.set()
    first.result(10)  # the call under way finishes
    with pytest.raises(StaleModel):
        stale.result(10)
    assert old.calls == [["a"]]
    assert queue.submit(new, ["c"]).result(10).shape == (1, 2)
