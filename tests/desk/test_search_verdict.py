"""Search decides plain-word rules from the posts' stored keys (stem marks kept) instead of
re-reading each candidate: the pages, the spans and the "in the picture" flags must be exactly
what re-reading every candidate gives, including where FTS5 alone says more (й folded into и,
a stem and a lemma spelled alike)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.desk.search as search_mod
from bot.desk.search import SearchPage, search_posts
from bot.matching import analyze, match_rule, parse_rule
from bot.matching.verdict import stored_verdict
from storage.records import Post
from storage.store import Store

KYIV = ZoneInfo("Europe/Kyiv")
WORDS = [
    "мій", "мии", "Умєров", "Умерова", "умер", "обмін", "обміну", "полонених", "полоненими",
    "санкції", "Київ", "Києві", "кий", "переговори", "NATO", "talks", "meeting", "met",
    "Коваленко", "Коваленку", "ковалі", "дрон", "Дронову",
]  # fmt: skip
QUERIES = [
    "мій", "Умєров", "умер", "обмін полоненими", "санкції OR переговори", "Київ -кий",
    "talks", "meet", "Коваленко", "дрон", "from:chan_two полонених",
    "(мій OR Умєров) -санкції", "NATO", '"обмін полоненими"', "полон*", "=Києві",
]  # fmt: skip


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))) + "."


async def _archive(store: Store, rng: random.Random, n: int) -> None:
    one = await store.sources.ensure("chan_one")
    two = await store.sources.ensure("chan_two")
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        src = one if rng.random() < 0.6 else two
        text = _text(rng)
        a = analyze(text)
        pid = await store.posts.insert(
            src.id,
            Post(channel=src.username, message_id=i, date=start + timedelta(minutes=i), text=text),
            a.norm,
            a.lemma_text,
        )
        if rng.random() < 0.2:
            ocr = _text(rng)
            o = analyze(ocr)
            await store.posts.set_ocr(pid, ocr, o.norm, o.lemma_text)


def _shape(page: SearchPage) -> list[tuple[int, bool, tuple[tuple[int, int, str], ...]]]:
    return [
        (h.post.id, h.in_image, tuple((s.start, s.end, s.term) for s in h.spans))
        for h in page.hits
    ]


async def test_stored_keys_give_the_pages_rereading_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, random.Random(8), 400)
        found = 0
        for query in QUERIES:
            for size in (3, 20):
                pages: dict[bool, list[object]] = {}
                for stored in (True, False):
                    monkeypatch.setattr(search_mod, "STORED_VERDICT", stored)
                    out: list[object] = []
                    before = None
                    while True:
                        page = await search_posts(
                            store, query, zone=KYIV, limit=size, before=before
                        )
                        out.append((_shape(page), page.cursor))
                        if page.cursor is None:
                            break
                        before = page.cursor
                    pages[stored] = out
                assert pages[True] == pages[False], (query, size)
                found += bool(pages[True][0][0])  # type: ignore[index]
        assert found >= 2 * len(QUERIES) - 6  # nearly every query finds posts
    finally:
        await store.close()


def test_stored_verdict_never_contradicts_the_matcher() -> None:
    rng = random.Random(2)
    nodes = [parse_rule(q) for q in QUERIES]
    decided = 0
    for _ in range(600):
        text = _text(rng)
        keys = set(analyze(text).lemma_text.split())
        for node in nodes:
            for channel in ("chan_one", "chan_two"):
                verdict = stored_verdict(node, keys, channel)
                if verdict is not None:
                    decided += 1
                    assert verdict == (match_rule(node, text, channel) is not None), (node, text)
    assert decided > 10_000  # most rules here are plain words: decided without the text


async def test_posts_stored_before_the_mark_are_reread(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        src = await store.sources.ensure("chan_one")
        # Stored the old way: stem keys without their marks ("умеров" could be a lemma).
        await store.posts.insert(
            src.id,
            Post(
                channel="chan_one",
                message_id=1,
                date=datetime(2025, 1, 1, tzinfo=UTC),
                text="Зустріли Умєрова.",
            ),
            "зустріли умєрова.",
            "зустріти умеров умерова",
        )
        await store.db.execute("UPDATE state SET value = '2' WHERE key = 'exact_keys_from'")
        store.search._exact_from = None
        page = await search_posts(store, "Умєров", zone=KYIV)
        assert [h.post.message_id for h in page.hits] == [1]
        hit = page.hits[0]
        assert [hit.post.text[s.start : s.end] for s in hit.spans] == ["Умєрова"]
    finally:
        await store.close()
