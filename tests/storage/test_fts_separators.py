"""Characters newer than SQLite's Unicode tables (6.1) part words in the index (SQLite migration
0022): an emoji or a currency sign typed against a word made one token with it, so `=сила` or
`слав*` missed "💪🏻Сила" and "🫡Слава", which the matcher, and PostgreSQL, find."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.desk.search import search_posts
from bot.matching import analyze
from storage.fts_query import fts_tokens
from storage.records import Post
from storage.store import Store
from tests.storage.old_schema import old_sqlite

# Written for this test: emoji of Unicode 7-14 and a skin tone against words, a ruble sign.
TEXTS = [
    "💪🏻Сила наших захисників.",
    "Дякую🤝 партнерам за підтримку.",
    "🫡Слава ЗСУ!",
    "Ціна хліба 100₽, пише окупаційна влада.",
    "🛡Захист неба посилено🥇",
]
QUERIES = {
    "=сила": [1],
    "сил*": [1],
    "=дякую": [2],
    "слав*": [3],
    "=слава": [3],
    "=100": [4],
    "=захист": [5],
    "неб*": [5],
}


def test_no_character_outside_words_is_kept_inside_a_token() -> None:
    """Every assigned character that Python takes for no word character (the matcher's words
    are [^\\W_]) is, to the index's tokenizer, a separator or a mark it drops, never part of a
    token; Python's letters and digits stay in tokens."""
    word = re.compile(r"[^\W_]")
    chars = [
        chr(cp)
        for cp in range(0x80, 0x110000)
        if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) not in ("Cn", "Co")
    ]
    kept = []
    for i in range(0, len(chars), 4000):
        part = [c for c in chars[i : i + 4000] if not word.match(c)]
        # The index's own tokenizer, as queries use it (storage/fts_query.py).
        tokens = fts_tokens(" ".join(f"q{c}q" for c in part))
        kept += [t for t in tokens if len(t) > 2]
    assert kept == []


async def _archive(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    for n, text in enumerate(TEXTS, 1):
        a = analyze(text)
        when = datetime(2025, 5, 1, tzinfo=UTC) + timedelta(hours=n)
        await store.posts.insert(src.id, Post("chan_one", n, when, text), a.norm, a.lemma_text)


async def _found(store: Store) -> dict[str, list[int]]:
    return {
        q: [h.post.message_id for h in (await search_posts(store, q, zone=ZoneInfo("UTC"))).hits]
        for q in QUERIES
    }


async def test_words_typed_against_new_emoji_are_found(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store)
        assert await _found(store) == QUERIES
    finally:
        await store.close()


async def test_an_archive_from_before_is_rebuilt_with_the_separators(tmp_path: Path) -> None:
    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    rows = ["INSERT INTO sources (id, username, added_at) VALUES (1, 'chan_one', 0)"]
    for n, text in enumerate(TEXTS, 1):
        a = analyze(text)
        rows.append(
            "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas, stored_at)"
            f" VALUES ({n}, 1, {n}, {1_746_000_000 + n * 3600}, {q(text)}, {q(a.norm)},"
            f" {q(a.lemma_text)}, 0)"
        )
    rows.append(
        "INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)"
        " SELECT id, norm, lemmas, '', '' FROM posts"
    )
    path = tmp_path / "old.db"
    old_sqlite(str(path), 21, rows)  # the index before 0022: unicode61 alone
    store = await Store.open(path)
    try:
        assert await _found(store) == QUERIES
        await store.db.execute(
            "INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)"
        )
    finally:
        await store.close()
