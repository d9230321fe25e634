"""Stable ids: new clusters take over old ids by overlap, so links keep working.

Greedy by overlap, largest first: a cluster that did not change keeps its id;
in a merge the old id with the most members in the merged cluster survives and
the others are retired with a pointer to it; in a split the part holding most of
the old members keeps the id. Ties go to the older (smaller) id. Pure: label
arrays in, a mapping out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FRESH = -1


@dataclass(frozen=True)
class IdMap:
    ids: np.ndarray  # per new cluster: the old id it keeps, or FRESH
    retired: dict[int, int] = field(default_factory=dict)  # old id -> new cluster it went to
    unchanged: int = 0  # clusters with exactly the members of one old id
    kept: int = 0  # old ids still naming a cluster
    merged: int = 0  # old ids retired into another cluster
    split: int = 0  # old ids whose members now sit in more than one cluster
    fresh: int = 0  # clusters that need a new id

    def resolve(self, next_id: int) -> tuple[np.ndarray, dict[int, int]]:
        """Final id per cluster (fresh ones numbered from `next_id`) and the retired
        ids' survivors as final ids."""
        final = self.ids.copy()
        need = np.flatnonzero(final == FRESH)
        final[need] = np.arange(next_id, next_id + len(need), dtype=np.int64)
        return final, {old: int(final[c]) for old, c in self.retired.items()}


def map_ids(old: np.ndarray, new: np.ndarray) -> IdMap:
    """`old[i]`: the id item i had; `new[i]`: its new cluster (0..m-1)."""
    old = np.asarray(old, dtype=np.int64)
    new = np.asarray(new, dtype=np.int64)
    if old.shape != new.shape:
        raise ValueError(f"{len(old)} old ids for {len(new)} new labels")
    m = int(new.max()) + 1 if len(new) else 0
    if not len(old):
        return IdMap(np.full(m, FRESH, dtype=np.int64))
    pairs, overlap = np.unique(np.stack([old, new], axis=1), axis=0, return_counts=True)
    p_old, p_new = pairs[:, 0], pairs[:, 1]
    order = np.lexsort((p_new, p_old, -overlap))  # most overlap first, older id on a tie
    ids = np.full(m, FRESH, dtype=np.int64)
    taken: set[int] = set()
    for o, c in zip(p_old[order].tolist(), p_new[order].tolist(), strict=True):
        if ids[c] == FRESH and o not in taken:
            ids[c] = o
            taken.add(o)
    # retired ids point where most of their members went (first in `order` per old id)
    retired: dict[int, int] = {}
    for o, c in zip(p_old[order].tolist(), p_new[order].tolist(), strict=True):
        if o not in taken and o not in retired:
            retired[o] = c
    old_ids, old_size = np.unique(old, return_counts=True)
    new_size = np.bincount(new, minlength=m)
    size_of_old = old_size[np.searchsorted(old_ids, p_old)]
    exact = overlap[(overlap == new_size[p_new]) & (overlap == size_of_old)]
    parts = np.unique(p_old, return_counts=True)[1]
    return IdMap(
        ids=ids,
        retired=retired,
        unchanged=len(exact),
        kept=len(taken),
        merged=len(retired),
        split=int((parts > 1).sum()),
        fresh=int((ids == FRESH).sum()),
    )
