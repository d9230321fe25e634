"""Tests for the FAISS-backed vector index package (synthetic data, no model)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from index import (
    FlatIndex,
    HNSWIndex,
    IndexCorruptError,
    VectorIndex,
    build_index,
    choose_kind,
    load_index,
    rebuild,
)

DIM = 32


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, n: int, dim: int, n_clusters: int = 50) -> np.ndarray:
    centers = unit(rng, n_clusters, dim)
    x = centers[rng.integers(0, n_clusters, n)] + 0.35 * rng.standard_normal((n, dim))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sparse_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Large, non-contiguous, unordered int64 ids (some negative, never -1)."""
    ids = np.unique(rng.integers(-(2**62), 2**62, size=2 * n, dtype=np.int64))
    ids = rng.permutation(ids[ids != -1])[:n]
    assert ids.size == n
    return ids


def brute_force(
    ids: np.ndarray, base: np.ndarray, q: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    sims = q @ base.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def make(kind: str, dim: int = DIM) -> VectorIndex:
    return FlatIndex(dim) if kind == "flat" else HNSWIndex(dim)


KINDS = ["flat", "hnsw"]


# --- exact search -----------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 17])
def test_flat_matches_numpy_brute_force(k: int) -> None:
    rng = np.random.default_rng(0)
    base, ids, q = unit(rng, 500), sparse_ids(rng, 500), unit(rng, 40)
    index = FlatIndex(DIM)
    index.add(ids, base)
    scores, got = index.search(q, k)
    want_scores, want_ids = brute_force(ids, base, q, k)
    assert got.dtype == np.int64 and scores.dtype == np.float32
    assert got.shape == scores.shape == (40, k)
    np.testing.assert_array_equal(got, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_ids_are_stable_and_arbitrary(kind: str) -> None:
    rng = np.random.default_rng(1)
    base, ids = unit(rng, 200), sparse_ids(rng, 200)
    ids[0] = np.iinfo(np.int64).max
    index = make(kind)
    index.add(ids[:100], base[:100])
    index.add(ids[100:], base[100:])
    assert len(index) == 200
    assert set(index.ids().tolist()) == set(ids.tolist())
    assert index.ids().dtype == np.int64
    assert int(ids[0]) in index and np.int64(ids[5]) in index
    assert 12345 not in index and "x" not in index
    # Each vector's nearest neighbour is itself, reported under its own id.
    _, got = index.search(base, 1)
    np.testing.assert_array_equal(got[:, 0], ids)


@pytest.mark.parametrize("kind", KINDS)
def test_remove_then_search_never_returns_removed(kind: str) -> None:
    rng = np.random.default_rng(2)
    base, ids = unit(rng, 300), sparse_ids(rng, 300)
    index = make(kind)
    index.add(ids, base)
    gone = ids[::3]
    assert index.remove(np.concatenate([gone, np.array([42, 43])])) == gone.size
    assert index.remove(gone) == 0
    assert len(index) == 300 - gone.size
    assert not set(index.ids().tolist()) & set(gone.tolist())
    assert all(int(i) not in index for i in gone)
    _, got = index.search(base, 20)
    assert not np.isin(got, gone).any()
    assert (got[:, 0] != -1).all()


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_add_raises_and_leaves_index_unchanged(kind: str) -> None:
    rng = np.random.default_rng(3)
    base, ids = unit(rng, 10), sparse_ids(rng, 10)
    index = make(kind)
    index.add(ids[:5], base[:5])
    with pytest.raises(ValueError, match="already in the index"):
        index.add(ids[4:], base[4:])
    with pytest.raises(ValueError, match="repeated within the batch"):
        index.add(np.array([ids[7], ids[7]]), base[:2])
    assert len(index) == 5
    index.add(ids[5:], base[5:])
    assert len(index) == 10


@pytest.mark.parametrize("kind", KINDS)
def test_readding_a_removed_id_works(kind: str) -> None:
    rng = np.random.default_rng(4)
    base, ids = unit(rng, 50), sparse_ids(rng, 50)
    index = make(kind)
    index.add(ids, base)
    index.remove(ids[:1])
    new_vec = unit(rng, 1)
    index.add(ids[:1], new_vec)
    assert len(index) == 50 and int(ids[0]) in index
    scores, got = index.search(new_vec, 3)
    assert got[0, 0] == ids[0] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert (got[0] == ids[0]).sum() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_k_larger_than_size_is_padded(kind: str) -> None:
    rng = np.random.default_rng(5)
    base, ids = unit(rng, 3), sparse_ids(rng, 3)
    index = make(kind)
    index.add(ids, base)
    index.remove(ids[:1])
    scores, got = index.search(unit(rng, 4), 10)
    assert got.shape == scores.shape == (4, 10)
    assert set(got[:, :2].ravel().tolist()) <= set(ids[1:].tolist())
    assert (got[:, 2:] == -1).all() and np.isneginf(scores[:, 2:]).all()
    assert np.isfinite(scores[:, :2]).all()
    assert (np.diff(scores[:, :2], axis=1) <= 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index_search(kind: str) -> None:
    index = make(kind)
    scores, got = index.search(unit(np.random.default_rng(6), 2), 5)
    assert got.shape == (2, 5) and (got == -1).all() and np.isneginf(scores).all()
    assert len(index) == 0 and index.ids().shape == (0,)
    scores, got = index.search(np.empty((0, DIM), dtype=np.float32), 3)
    assert got.shape == scores.shape == (0, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_input_validation(kind: str) -> None:
    rng = np.random.default_rng(7)
    index = make(kind)
    with pytest.raises(ValueError, match="shape"):
        index.add(np.arange(3), unit(rng, 3, DIM + 1))
    with pytest.raises(ValueError, match="3 ids but 2 vectors"):
        index.add(np.arange(3), unit(rng, 2))
    with pytest.raises(ValueError, match="integer dtype"):
        index.add(np.arange(3, dtype=np.float64), unit(rng, 3))
    with pytest.raises(ValueError, match="-1"):
        index.add(np.array([-1, 2]), unit(rng, 2))
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.arange(1), np.full((1, DIM), np.nan))
    with pytest.raises(ValueError, match="k must be"):
        index.search(unit(rng, 1), 0)
    with pytest.raises(ValueError, match="queries"):
        index.search(unit(rng, 1)[0], 1)
    # Safe conversions are accepted: int32 ids, float64 vectors.
    index.add(np.arange(3, dtype=np.int32), unit(rng, 3).astype(np.float64))
    assert len(index) == 3 and index.ids().dtype == np.int64


# --- persistence -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(8)
    base, ids, q = unit(rng, 400), sparse_ids(rng, 400), unit(rng, 25)
    index = make(kind)
    index.add(ids, base)
    index.remove(ids[:40])
    meta = {"model": "minilm-l6", "dim": DIM, "watermark": 123456789, "nested": {"a": [1, 2]}}
    path = tmp_path / "vectors.idx"
    index.save(path, meta)
    loaded, loaded_meta = load_index(path)
    assert loaded_meta == meta
    assert type(loaded) is type(index) and loaded.dim == DIM and len(loaded) == 360
    assert set(loaded.ids().tolist()) == set(index.ids().tolist())
    for a, b in zip(index.search(q, 15), loaded.search(q, 15), strict=True):
        np.testing.assert_array_equal(a, b)
    # Loaded indexes remain writable and keep rejecting duplicates.
    with pytest.raises(ValueError):
        loaded.add(ids[50:51], base[50:51])
    loaded.add(ids[:1], base[:1])
    assert len(loaded) == 361


def test_hnsw_save_keeps_parameters(tmp_path: Path) -> None:
    index = HNSWIndex(DIM, m=12, ef_construction=40, ef_search=33)
    index.add(np.arange(10), unit(np.random.default_rng(9), 10))
    index.save(tmp_path / "h.idx", {})
    loaded, _ = load_index(tmp_path / "h.idx")
    assert isinstance(loaded, HNSWIndex)
    assert (loaded.ef_search, loaded._m, loaded._ef_construction) == (33, 12, 40)


def left_beside(folder: Path) -> list[str]:
    """The files in `folder` but the marks a save leaves (`<file>.verified`)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".verified"))


def saved_file(tmp_path: Path, kind: str = "flat") -> Path:
    index = make(kind)
    rng = np.random.default_rng(10)
    index.add(sparse_ids(rng, 100), unit(rng, 100))
    path = tmp_path / "vectors.idx"
    index.save(path, {"model": "m"})
    return path


@pytest.mark.parametrize("keep", [0, 5, 30, 100, -1])
def test_truncated_file_raises_corrupt(tmp_path: Path, keep: int) -> None:
    path = saved_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    with pytest.raises(IndexCorruptError) as err:
        load_index(path)
    assert str(path) in str(err.value) and "rebuilt from the database" in str(err.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", [0, 10, 60, 0.5, -1])
def test_flipped_byte_raises_corrupt(tmp_path: Path, kind: str, where: float) -> None:
    path = saved_file(tmp_path, kind)
    data = bytearray(path.read_bytes())
    pos = int(len(data) * where) if isinstance(where, float) else where
    data[pos] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError):
        load_index(path)


def test_trailing_garbage_and_foreign_file_raise_corrupt(tmp_path: Path) -> None:
    path = saved_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(IndexCorruptError, match="trailing"):
        load_index(path)
    path.write_bytes(b"not an index at all, just some text" * 3)
    with pytest.raises(IndexCorruptError, match="magic"):
        load_index(path)


def test_a_trusted_start_skips_the_hash_of_a_file_this_boot_wrote_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's start skips the payload hash (1.3 s at a million vectors) for the
    file its own save wrote on this boot of the machine; a copy, a file changed since, a
    new boot, or a reader that does not trust marks (`storyline check`) hashes it, and
    damage found removes the mark. A damaged id that keeps the file's size and time, and
    that FAISS still parses, shows both sides of that."""
    import shutil

    import filetrust
    from index.fileformat import verified_mark

    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-1")
    path = saved_file(tmp_path)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-8] ^= 0x10  # a byte of the id map
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len(load_index(path, trust_mark=True)[0]) == 100  # vouched for: not hashed
    copy = tmp_path / "copy.idx"
    shutil.copy2(path, copy)
    shutil.copy(verified_mark(path), verified_mark(copy))
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(copy, trust_mark=True)  # another inode
    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-2")
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(path, trust_mark=True)  # the machine restarted since
    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-1")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # changed since
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(path, trust_mark=True)
    # the time as it was, and the mark back: a check without trust finds the damage and
    # takes the mark away, so the next trusted start hashes too
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    filetrust.vouch(path, verified_mark(path))
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(path)
    assert not verified_mark(path).exists()
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(path, trust_mark=True)
    (tmp_path / "good").mkdir()
    good = saved_file(tmp_path / "good")
    verified_mark(good).unlink()  # as after a file restored from elsewhere
    load_index(good, trust_mark=True)  # hashed, and then vouched for
    assert filetrust.vouched(good, verified_mark(good))


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_index(tmp_path / "nope.idx")


def test_save_leaves_no_temp_files(tmp_path: Path) -> None:
    path = saved_file(tmp_path)
    index, _ = load_index(path)
    index.save(path, {"model": "m2"})
    assert left_beside(tmp_path) == [path.name]
    assert load_index(path)[1] == {"model": "m2"}


def test_failed_save_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = saved_file(tmp_path)
    before = path.read_bytes()
    index, _ = load_index(path)
    index.add(np.array([7]), unit(np.random.default_rng(11), 1))

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        index.save(path, {"model": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert left_beside(tmp_path) == [path.name]
    old, meta = load_index(path)
    assert meta == {"model": "m"} and len(old) == 100


def test_non_json_meta_rejected_before_writing(tmp_path: Path) -> None:
    path = saved_file(tmp_path)
    before = path.read_bytes()
    index, _ = load_index(path)
    with pytest.raises(ValueError, match="JSON"):
        index.save(path, {"when": object()})
    assert path.read_bytes() == before
    assert left_beside(tmp_path) == [path.name]


# --- HNSW quality and maintenance --------------------------------------------------


def test_hnsw_recall_at_10() -> None:
    rng = np.random.default_rng(12)
    dim, n = 64, 5000
    base, ids = clustered(rng, n, dim), sparse_ids(rng, n)
    q = clustered(rng, 200, dim)
    exact, approx = FlatIndex(dim), HNSWIndex(dim)
    exact.add(ids, base)
    approx.add(ids, base)
    _, want = exact.search(q, 10)
    _, got = approx.search(q, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.9, recall


def test_hnsw_remove_and_compact() -> None:
    rng = np.random.default_rng(13)
    base, ids, q = unit(rng, 600), sparse_ids(rng, 600), unit(rng, 30)
    index = HNSWIndex(DIM)
    index.add(ids, base)
    gone = ids[:200]
    index.remove(gone)
    assert index.tombstones == 200 and len(index) == 400
    before = index.search(q, 10)
    assert not np.isin(before[1], gone).any()
    assert index.compact() == 200
    assert index.tombstones == 0 and len(index) == 400 and index.compact() == 0
    assert set(index.ids().tolist()) == set(ids[200:].tolist())
    after = index.search(q, 10)
    assert not np.isin(after[1], gone).any()
    # Same live vectors: the exact top-1 agrees with brute force on both graphs.
    _, want = brute_force(ids[200:], base[200:], q, 1)
    assert (after[1][:, 0] == want[:, 0]).mean() >= 0.9
    index.remove(ids[200:])
    assert len(index) == 0
    assert (index.search(q, 3)[1] == -1).all()


# --- factory -----------------------------------------------------------------------


def test_factory_picks_type_by_size() -> None:
    assert isinstance(build_index(DIM, 10), FlatIndex)
    assert isinstance(build_index(DIM, 199_999), FlatIndex)
    assert isinstance(build_index(DIM, 200_000), HNSWIndex)
    assert isinstance(build_index(DIM, 50, hnsw_threshold=50), HNSWIndex)
    assert isinstance(build_index(DIM, 10**7, kind="flat"), FlatIndex)
    assert isinstance(build_index(DIM, 0, kind="hnsw"), HNSWIndex)
    assert choose_kind(5, "auto", hnsw_threshold=5) == "hnsw"
    hnsw = build_index(DIM, 0, kind="hnsw", ef_search=99)
    assert isinstance(hnsw, HNSWIndex) and hnsw.ef_search == 99
    with pytest.raises(ValueError, match="unknown index kind"):
        build_index(DIM, 10, kind="ivf")
    assert isinstance(build_index(DIM, 10), VectorIndex)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_rebuild_in_chunks_with_progress(kind: str) -> None:
    rng = np.random.default_rng(14)
    base, ids = unit(rng, 250).astype(np.float64), sparse_ids(rng, 250)
    calls: list[tuple[int, int]] = []
    index = rebuild(
        DIM, ids, base, kind, chunk_size=100, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(0, 250), (100, 250), (200, 250), (250, 250)]
    assert len(index) == 250 and index.kind == kind
    _, got = index.search(base[:5].astype(np.float32), 1)
    np.testing.assert_array_equal(got[:, 0], ids[:5])
    with pytest.raises(ValueError, match="shape"):
        rebuild(DIM, ids[:3], base[:2])


# --- concurrency -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_writer_and_readers(kind: str) -> None:
    rng = np.random.default_rng(15)
    base, ids, q = unit(rng, 2000), sparse_ids(rng, 2000), unit(rng, 8)
    index = make(kind)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for start in range(0, 2000, 50):
                index.add(ids[start : start + 50], base[start : start + 50])
                if start % 200 == 0:
                    index.remove(ids[start : start + 10])
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                scores, got = index.search(q, 5)
                assert got.shape == (8, 5)
                valid = got != -1
                assert np.isfinite(scores[valid]).all()
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 2000 - 10 * 10


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_save_beside_the_writer_records_the_ids_it_copied(tmp_path: Path, kind: str) -> None:
    """Periodic snapshots are written on a thread of their own while the writer adds: the
    watermark saved with the bytes must be the largest id the bytes hold, never one the
    writer added between reading the ids and copying the index."""
    dim = 8
    rng = np.random.default_rng(0)
    index = FlatIndex(dim) if kind == "flat" else HNSWIndex(dim)
    index.add(np.arange(1, 201, dtype=np.int64), rng.standard_normal((200, dim)).astype(np.float32))
    stop = threading.Event()

    def writer() -> None:
        next_id = 201
        while not stop.is_set():
            vecs = rng.standard_normal((20, dim)).astype(np.float32)
            index.add(np.arange(next_id, next_id + 20, dtype=np.int64), vecs)
            next_id += 20

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for k in range(10):
            path = tmp_path / f"{kind}{k}.idx"
            written = index.save(path, {"model": "m", "watermark": None})
            loaded, meta = load_index(path)
            assert meta == written
            assert meta["watermark"] == int(loaded.ids().max())
    finally:
        stop.set()
        thread.join()


# --- the exact tail of an HNSW index (`defer`, `fold`) -------------------------------


def test_deferred_vectors_are_searchable_at_once_and_fold_in_lowest_ids_first(
    tmp_path: Path,
) -> None:
    """A start tops up what came after the index file's watermark with `defer`: the
    vectors are found at once (exactly, beside the graph), new ids join them while any
    wait, `fold` moves the lowest ids into the graph, and a save holds the graph alone
    with a watermark below every waiting id, so that the next start defers the rest."""
    rng = np.random.default_rng(21)
    vecs = unit(rng, 300)
    index = HNSWIndex(DIM, ef_search=200)
    index.add(np.arange(100), vecs[:100])
    index.defer(np.arange(100, 250), vecs[100:250])
    assert index.deferred == 150 and len(index) == 250 and 120 in index
    index.add(np.arange(250, 300), vecs[250:])  # above the graph while the tail waits
    assert index.deferred == 200
    with pytest.raises(ValueError, match="already"):
        index.add(np.array([120]), vecs[:1])
    exact = FlatIndex(DIM)
    exact.add(np.arange(300), vecs)
    queries = vecs[::7]
    got_scores, got_ids = index.search(queries, 5)
    want_scores, want_ids = exact.search(queries, 5)
    assert (got_ids[:, 0] == np.arange(300)[::7]).all()  # each finds itself, graph or tail
    assert np.mean(got_ids == want_ids) > 0.95
    assert (np.diff(got_scores, axis=1) <= 1e-6).all()  # merged best first
    # 64, and the 50 that joined the tail through `add`: it shrinks whatever comes
    assert index.fold(64) == 114 and index.deferred == 86
    assert sorted(index._tail.ids().tolist())[0] == 214  # the lowest went first
    assert index.remove(np.array([5, 250])) == 2  # one in the graph, one in the tail
    assert 250 not in index and 5 not in index and len(index) == 298
    meta = index.save(tmp_path / "h.idx", {"watermark": None})
    assert meta["watermark"] == 213  # the graph's: every waiting id is above it
    loaded, _ = load_index(tmp_path / "h.idx")
    assert len(loaded) == 213 and loaded.deferred == 0  # 0-213 less the removed 5
    rest = np.array(sorted(set(range(214, 300)) - {250}))
    loaded.defer(rest, vecs[rest])
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    while loaded.fold(50):
        pass
    assert loaded.deferred == 0 and len(loaded) == 298
    scores, ids = loaded.search(queries, 5)
    assert np.mean(ids == index.search(queries, 5)[1]) > 0.95
    loaded.add(np.array([1000]), vecs[:1])  # no tail left: straight into the graph
    assert loaded.deferred == 0


def test_the_tail_shrinks_while_batches_larger_than_a_fold_arrive() -> None:
    """Writer batches may hold up to a thousand snippets: what joins the tail is folded
    with the backlog's slice, so a bulk import after a crash start does not grow it."""
    rng = np.random.default_rng(23)
    index = HNSWIndex(DIM, m=8, ef_construction=16)
    index.add(np.arange(50), unit(rng, 50))
    index.defer(np.arange(50, 350), unit(rng, 300))
    backlog, next_id = [], 350
    for _ in range(4):
        index.add(np.arange(next_id, next_id + 100), unit(rng, 100))  # a batch of 100
        next_id += 100
        index.fold(64)
        backlog.append(index.deferred)
    assert backlog == [236, 172, 108, 44] and len(index) == 750


def test_an_empty_graph_saves_a_watermark_below_every_waiting_id(tmp_path: Path) -> None:
    index = HNSWIndex(DIM)
    index.defer(np.array([-40, -7, 3]), unit(np.random.default_rng(24), 3))
    assert index.save(tmp_path / "h.idx", {"watermark": None})["watermark"] == -41


def test_a_flat_index_has_nothing_to_defer() -> None:
    index = FlatIndex(DIM)
    rng = np.random.default_rng(22)
    index.defer(np.arange(10), unit(rng, 10))
    assert len(index) == 10 and index.fold(5) == 0
