"""Stable-id mapping: pure label arrays, no model."""

from __future__ import annotations

import numpy as np

from stories.idmap import FRESH, map_ids


def test_unchanged_clusters_keep_every_id() -> None:
    old = np.array([7, 7, 9, 9, 9, 12])
    new = np.array([0, 0, 1, 1, 1, 2])
    m = map_ids(old, new)
    assert m.ids.tolist() == [7, 9, 12]
    assert (m.unchanged, m.kept, m.merged, m.split, m.fresh) == (3, 3, 0, 0, 0)
    assert m.retired == {}


def test_relabelled_but_same_partition_keeps_ids() -> None:
    old = np.array([3, 3, 5, 5])
    new = np.array([1, 1, 0, 0])
    assert map_ids(old, new).ids.tolist() == [5, 3]


def test_merge_keeps_the_larger_side_and_retires_the_other() -> None:
    old = np.array([1, 1, 1, 2, 2])
    new = np.zeros(5, dtype=np.int64)
    m = map_ids(old, new)
    assert m.ids.tolist() == [1]
    assert m.retired == {2: 0}
    assert m.merged == 1
    final, retired = m.resolve(next_id=100)
    assert final.tolist() == [1] and retired == {2: 1}


def test_merge_tie_goes_to_the_older_id() -> None:
    m = map_ids(np.array([5, 5, 3, 3]), np.zeros(4, dtype=np.int64))
    assert m.ids.tolist() == [3]
    assert m.retired == {5: 0}


def test_split_keeps_the_id_on_the_larger_part() -> None:
    old = np.array([4, 4, 4, 4, 4])
    new = np.array([1, 1, 0, 0, 0])
    m = map_ids(old, new)
    assert m.ids.tolist() == [4, FRESH]
    assert m.split == 1 and m.fresh == 1 and m.retired == {}
    final, _ = m.resolve(next_id=50)
    assert final.tolist() == [4, 50]


def test_retired_id_points_where_most_of_it_went() -> None:
    # story 1 (4 items) takes cluster 0; story 2 splits 1 into cluster 0, 2 into cluster 1
    # where story 3 (3 items) keeps the id: story 2 is retired into cluster 1
    old = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    new = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    m = map_ids(old, new)
    assert m.ids.tolist() == [1, 3]
    assert m.retired == {2: 1}
    assert m.split == 1


def test_empty() -> None:
    m = map_ids(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert len(m.ids) == 0 and m.retired == {}
