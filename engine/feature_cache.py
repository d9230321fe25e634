"""Features of stored snippets, cached: the writer scores every new snippet against ~32."""

from __future__ import annotations

from collections import OrderedDict

from stories.features import Features


class FeatureCache:
    """Least-recently-used features by snippet id; misses are recomputed from stored text."""

    def __init__(self, capacity: int = 20_000) -> None:  # ~5 KB each for news paragraphs
        self._items: OrderedDict[int, Features] = OrderedDict()
        self._capacity = capacity

    def get(self, snippet_id: int) -> Features | None:
        found = self._items.get(snippet_id)
        if found is not None:
            self._items.move_to_end(snippet_id)
        return found

    def put(self, snippet_id: int, features: Features) -> None:
        self._items[snippet_id] = features
        self._items.move_to_end(snippet_id)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
