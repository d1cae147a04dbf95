"""A layer's cache of derived arrays, bounded by how many hardware settings it keeps.

Every array the models derive from a layer's weights depends on a few hardware
settings (``n_pe``, ``index_bits``, the entry scheme; the activation seed). A
sweep over hundreds of settings in one process would keep every one of them, so
the cache holds its entries in groups, one per setting, and drops the least
recently used group beyond :data:`MAX_GROUPS`. A dropped array is computed again
when asked for; results never change, only the time.

>>> cache = LayerCache(max_groups=2)
>>> cache.get(("pe", 8), "sum", lambda: 1), cache.get(("pe", 16), "sum", lambda: 2)
(1, 2)
>>> cache.get(("pe", 32), "sum", lambda: 3)  # drops ("pe", 8), the least recent
3
>>> cache.groups()
[('pe', 16), ('pe', 32)]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["MAX_GROUPS", "LayerCache"]

#: hardware settings a layer keeps derived arrays for: one sweep worker's recent ones
MAX_GROUPS = 8


class LayerCache:
    """Values by ``(group, key)``; at most ``max_groups`` groups, least recent dropped."""

    def __init__(self, max_groups: int = MAX_GROUPS):
        self.max_groups = max_groups
        self._groups: OrderedDict[Hashable, dict] = OrderedDict()

    def get(self, group: Hashable, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value under ``(group, key)``, made by ``make()`` on first use."""
        entries = self._groups.get(group)
        if entries is None:
            entries = self._groups[group] = {}
            while len(self._groups) > self.max_groups:
                self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(group)
        if key not in entries:
            entries[key] = make()
        return entries[key]

    def groups(self) -> list:
        """The groups held, least recently used first."""
        return list(self._groups)

    def __len__(self) -> int:
        return sum(len(e) for e in self._groups.values())
