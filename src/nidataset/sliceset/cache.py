"""Decoded volumes kept between samples, least recently used first out, within a byte budget.

A random slice of a ``.nii.gz`` costs a whole decompression when nothing is kept (gzip has no random
access): keeping the decoded volumes a worker has read makes every later slice of them a copy. The
budget is per process (each DataLoader worker has its own cache), and by default a quarter of the
memory the exporters see as available (the machine's, or the container's cgroup limit), at most
:data:`DEFAULT_BUDGET`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol

from ..batch.memory import memory_available

#: The default budget's ceiling, per process: the CT volumes of a typical study (8 x 84 MB) fit.
DEFAULT_BUDGET = 1 << 30


def default_budget(available: Callable[[], int | None] = memory_available) -> int:
    """A quarter of the available memory (machine or cgroup), at most :data:`DEFAULT_BUDGET`.

    >>> default_budget(lambda: 400 << 20) == 100 << 20, default_budget(lambda: None) == DEFAULT_BUDGET
    (True, True)
    """
    free = available()
    return DEFAULT_BUDGET if free is None else min(DEFAULT_BUDGET, free // 4)


class VolumeCache:
    """Tuples of arrays (or other things of known ``nbytes``) by key, the least recently used dropped
    first once their bytes pass ``budget``.

    A value larger than the whole budget is handed back and not kept (what is kept stays).

    >>> import numpy as np
    >>> cache = VolumeCache(budget=100)
    >>> first = cache.get("a", lambda: (np.zeros(60, np.uint8),))
    >>> second = cache.get("b", lambda: (np.zeros(60, np.uint8), None))
    >>> cache.keys(), cache.nbytes, cache.misses
    (['b'], 60, 2)
    """

    def __init__(self, budget: int) -> None:
        self.budget = int(budget)
        self._items: OrderedDict[Hashable, Value] = OrderedDict()
        self.nbytes = 0
        self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def keys(self) -> list[Hashable]:
        return list(self._items)

    def get(self, key: Hashable, load: Callable[[], Value]) -> Value:
        """The value of ``key``, loaded by ``load()`` when it is not kept."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        value = load()
        size = _size(value)
        if size > self.budget:
            return value
        while self._items and self.nbytes + size > self.budget:
            _, dropped = self._items.popitem(last=False)
            self.nbytes -= _size(dropped)
        self._items[key] = value
        self.nbytes += size
        return value

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0


class Sized(Protocol):
    @property
    def nbytes(self) -> int: ...


#: A cached value: a volume and its mask's labels (or None), or the readers of their slabs.
Value = tuple[Sized | None, ...]


def _size(value: Value) -> int:
    return sum(int(item.nbytes) for item in value if item is not None)
