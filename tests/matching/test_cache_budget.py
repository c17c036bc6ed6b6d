"""One budget sizes every word cache (WIREWATCH_WORD_CACHE_MB for `wirewatch run`)."""

from __future__ import annotations

import importlib
import pkgutil

import bot.matching
from bot.matching import analyze, cache


def _module_caches() -> list[object]:
    found = []
    for info in pkgutil.iter_modules(bot.matching.__path__, "bot.matching."):
        module = importlib.import_module(info.name)
        found += [
            v
            for v in vars(module).values()
            if isinstance(v, (cache.ByteBoundedCache, cache.PartitionedCache))
        ]
    return found


def test_every_word_cache_answers_to_the_budget() -> None:
    # A cache built without registering would escape WIREWATCH_WORD_CACHE_MB.
    caches = _module_caches()
    assert len(caches) >= 3
    assert all(c in cache._CACHES for c in caches)


def test_the_budget_splits_by_default_shares_and_restores() -> None:
    defaults = {id(c): c.default_bytes for c in cache._CACHES}
    try:
        cache.set_budget(6 * 1024 * 1024)
        assert 6 * 1024 * 1024 - len(defaults) <= cache.budget() <= 6 * 1024 * 1024
        assert all(c.max_bytes > 0 for c in cache._CACHES)
        for text in ("Умєров провів переговори у Стамбулі.", "Talks in Istanbul went on."):
            analyze(text)
        assert all(c.bytes <= c.max_bytes for c in cache._CACHES)
    finally:
        cache.set_budget(None)
    assert {id(c): c.max_bytes for c in cache._CACHES} == defaults
