"""Word caches bounded by bytes, not only by entries.

A long-running service meets new words for ever (names, typos, other languages), and the cost of
an entry varies tenfold (a short word with one lemma, a long name with a dozen stem keys), so an
entry count alone does not bound memory. Each cache here keeps two generations of plain dicts:
hits are a dict lookup (no bookkeeping, as cheap as functools.lru_cache and cheaper than an LRU
that reorders on every hit, which the per-word hot loop of matching cannot afford); new entries
go to the young generation with their size estimated once, and when the young generation
would pass half the budget it becomes the old one and the previous old one is dropped. A hit in
the old generation moves the entry back to the young one, so words in use survive each turn.
"""

from __future__ import annotations

import sys
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ENTRY_OVERHEAD = 104  # a dict slot, its hash table share and the key/value references

# Every word cache, so that the service can size them all at once from one setting
# (WIREWATCH_WORD_CACHE_MB, `set_budget`). Measured over 100,000 varied posts: the resident
# memory they take is about 0.7 of the estimate (shared strings are counted each time).
_CACHES: weakref.WeakSet[_Generations] = weakref.WeakSet()


def deep_size(value: Any) -> int:
    """Bytes of a str/tuple/frozenset tree, counting shared strings each time (an upper bound)."""
    size = sys.getsizeof(value)
    if isinstance(value, (tuple, frozenset, list)):
        size += sum(deep_size(v) for v in value)
    return size


class _Generations(ABC):
    """What both caches share: a byte limit, its share of the budget, two generations' byte
    counts, and their registration with `set_budget`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.default_bytes = max_bytes  # its share of a budget (set_budget)
        self._young_bytes = 0
        self._old_bytes = 0
        _CACHES.add(self)

    @property
    def bytes(self) -> int:
        """Estimated bytes held (both generations); never above max_bytes."""
        return self._young_bytes + self._old_bytes

    def resize(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.clear()

    @abstractmethod
    def clear(self) -> None:
        """Drop every entry and the byte counts with them (each cache keeps its own dicts)."""


class ByteBoundedCache(_Generations, Generic[K, V]):
    def __init__(self, max_bytes: int, compute: Callable[[K], V]) -> None:
        super().__init__(max_bytes)
        self._compute = compute
        self.young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K) -> V:
        """The cached value, computing it on a miss."""
        found = self.young.get(key)
        if found is not None:
            return found
        return self.miss(key)

    def miss(self, key: K) -> V:
        """The slow path of `get`, also called directly by loops that look `young` up inline."""
        value = self._old.pop(key, None)
        if value is None:
            value = self._compute(key)
        size = deep_size(key) + deep_size(value) + _ENTRY_OVERHEAD
        if self.young and self._young_bytes + size > self.max_bytes // 2:
            # Rotate in place: callers may hold a reference to `young` for a whole loop.
            self._old = dict(self.young)
            self._old_bytes = self._young_bytes
            self.young.clear()
            self._young_bytes = 0
        self.young[key] = value
        self._young_bytes += size
        return value

    def __len__(self) -> int:
        return len(self.young) + len(self._old)

    def clear(self) -> None:
        self.young.clear()
        self._old = {}
        self._young_bytes = self._old_bytes = 0


P = TypeVar("P", bound=Hashable)


class PartitionedCache(_Generations, Generic[P, K, V]):
    """A ByteBoundedCache whose keys fall into a few partitions (the token cache: one per text
    language) under ONE budget. Each partition's young generation is a plain dict keyed by
    the bare key, so a whole post's words are looked up with one `map(young.get, words)`
    (C speed, no key tuple built per word)."""

    def __init__(self, max_bytes: int, compute: Callable[[P, K], V]) -> None:
        super().__init__(max_bytes)
        self._compute = compute
        self._young: dict[P, dict[K, V]] = {}
        self._old: dict[P, dict[K, V]] = {}

    def young(self, part: P) -> dict[K, V]:
        """The young generation of `part`: the same dict object for the cache's whole life
        (rotation empties it in place), so callers may hold it across a loop."""
        found = self._young.get(part)
        if found is None:
            found = self._young[part] = {}
        return found

    def get(self, part: P, key: K) -> V:
        found = self.young(part).get(key)
        if found is not None:
            return found
        return self.miss(part, key)

    def miss(self, part: P, key: K) -> V:
        old = self._old.get(part)
        value = old.pop(key, None) if old else None
        if value is None:
            value = self._compute(part, key)
        size = deep_size(key) + deep_size(value) + _ENTRY_OVERHEAD
        if self._young_bytes and self._young_bytes + size > self.max_bytes // 2:
            # Every partition turns at once: the budget is shared.
            self._old = {p: dict(d) for p, d in self._young.items()}
            self._old_bytes = self._young_bytes
            for d in self._young.values():
                d.clear()
            self._young_bytes = 0
        self.young(part)[key] = value
        self._young_bytes += size
        return value

    def __len__(self) -> int:
        return sum(map(len, self._young.values())) + sum(map(len, self._old.values()))

    def clear(self) -> None:
        for d in self._young.values():
            d.clear()
        self._old = {}
        self._young_bytes = self._old_bytes = 0


def set_budget(total_bytes: int | None) -> None:
    """Size every word cache so that together they hold at most `total_bytes` (estimated),
    each keeping its default share; None restores the defaults. Empties them."""
    caches = list(_CACHES)
    defaults = sum(c.default_bytes for c in caches)
    for cache in caches:
        share = (
            cache.default_bytes
            if total_bytes is None
            else (total_bytes * cache.default_bytes // defaults)
        )
        cache.resize(share)


def budget() -> int:
    """The word caches' combined limit (bytes, estimated)."""
    return sum(c.max_bytes for c in _CACHES)
