"""The word caches are bounded by bytes: a run that keeps meeting new words (names, typos)
cannot grow the service past the budget, however many words it sees."""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest

from bot.matching import analysis, lemmas
from bot.matching.analysis import analyze, clear_caches
from bot.matching.cache import ByteBoundedCache, deep_size

_SYLLABLES = ["ко", "ва", "лен", "дар", "чук", "тин", "бра", "мир", "сла", "гор", "зен", "ош"]


def _names(n: int) -> list[str]:
    rng = random.Random(4)
    return [
        "".join(rng.choices(_SYLLABLES, k=5)).capitalize()
        + rng.choice(("енко", "ові", "ук"))
        + str(i % 7 or "")
        for i in range(n)
    ]


def test_a_cache_never_holds_more_than_its_budget() -> None:
    cache: ByteBoundedCache[str, tuple[str, ...]] = ByteBoundedCache(
        20_000, lambda k: (k, k.upper(), k * 3)
    )
    for i in range(2_000):
        key = f"слово{i}"
        assert cache.get(key) == (key, key.upper(), key * 3)
        assert cache.bytes <= 20_000
    assert 0 < len(cache) < 2_000
    # A word in use survives the turns of the generations.
    for i in range(2_000):
        cache.get("часте")
        cache.get(f"рідкісне{i}")
    assert "часте" in cache.young or cache.get("часте") == ("часте", "ЧАСТЕ", "часте" * 3)


def test_deep_size_counts_nested_strings() -> None:
    assert deep_size(("ab", ("cd", "ef"))) > deep_size(("ab",)) + deep_size("cd")


def test_analysis_caches_stay_within_their_bytes_on_an_endless_vocabulary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budget = 256 * 1024
    monkeypatch.setattr(analysis._TOKENS, "max_bytes", budget)
    monkeypatch.setattr(lemmas._CYRILLIC, "max_bytes", budget)
    clear_caches()
    names = _names(12_000)
    text = "Переговори провели {} і {} у Києві."
    analyze(text.format(names[0], names[1]))  # the dictionaries load outside the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(0, len(names) - 1, 2):
            analyze(text.format(names[i], names[i + 1]))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        clear_caches()
    assert analysis._TOKENS.bytes <= budget and lemmas._CYRILLIC.bytes <= budget
    # 12,000 new names took several MB in unbounded caches; here the two budgets and slack.
    assert grown < 3 * budget, grown
