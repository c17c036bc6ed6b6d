"""Untrusted post text PostgreSQL takes differently from SQLite: a NUL character (its `text`
refuses one), a post far larger than Telegram's (a `tsvector` holds at most 1 MB), search
queries made of whatever a journalist pastes. Each runs on both back ends and must end the same:
the post stored, found and alerted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk.search import search_posts
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.postgres.copy import copy_archive
from storage.records import Post
from storage.store import Store

T0 = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


async def _desk(store: Store, rule: str) -> int:
    jo = await store.people.add(role="journalist", user_id=11)
    await store.rules.add(rule, rule_to_json(parse_rule(rule)))
    return jo.id


async def _found(store: Store, query: str) -> list[int]:
    page = await search_posts(store, query, zone=KYIV)
    return [h.post.message_id for h in page.hits]


async def test_a_feed_post_with_a_nul_character_is_stored_found_and_alerted(store: Store) -> None:
    # A JSONL feed scraped from a PDF carries "\u0000" inside a sentence. PostgreSQL refused the
    # whole post ('invalid byte sequence for encoding "UTF8": 0x00'), so the feed's import
    # failed on it every time; SQLite kept it.
    person = await _desk(store, "водопостачання")
    text = "Водопостачання у Харкові\x00 відновлено після ремонту."
    raw = json.dumps({"id": 7, "text": text})
    pipe = Pipeline(store)
    done = await pipe.handle(
        Post(channel="kharkiv_water", message_id=7, date=T0, text=text, raw=raw, origin="feed")
    )
    assert (done.stored, done.alerts) == (1, 1)
    stored = await store.posts.get_by_link("kharkiv_water", 7)
    assert stored is not None and stored.text == text.replace("\x00", "")
    assert await _found(store, "водопостачання") == [7]
    # The same line read again (a feed replayed, a catch-up) is the post we hold, not an edit.
    again = await pipe.handle(
        Post(channel="kharkiv_water", message_id=7, date=T0, text=text, raw=raw, origin="feed")
    )
    assert (again.stored, again.edited, again.duplicates) == (0, 0, 1)
    assert [a.kind for a in await store.alerts.for_person(person)] == ["new"]
    # The record keeps the line exactly as the source gave it.
    (kept,) = [e for e in await store.evidence.for_message("kharkiv_water", 7)]
    assert json.loads(kept.raw)["text"] == text


async def test_a_search_or_rule_with_a_nul_character_is_answered(store: Store) -> None:
    await Pipeline(store).handle(
        Post(channel="kharkiv_water", message_id=1, date=T0, text="Тиск у мережі стабільний.")
    )
    assert await _found(store, "тиск\x00") == [1]
    rule = await store.rules.add("тиск\x00 мережа", rule_to_json(parse_rule("тиск мережа")))
    assert rule.id > 0


@pytest.mark.slow
async def test_a_post_of_a_hundred_thousand_distinct_words_is_stored_alerted_and_found(
    store: Store,
) -> None:
    # A register pasted into a feed: decrees and their numbers, near a megabyte, 100,000
    # distinct words. PostgreSQL's tsvector holds at most 1 MB ('string is too long for
    # tsvector'), so the post was refused; SQLite stored it.
    await _desk(store, "постанова")
    numbers = " ".join(f"№{n}" for n in range(1_000_000, 1_100_000))
    text = "Постанова набирає чинності з дня підписання. Реєстр: " + numbers
    pipe = Pipeline(store)
    done = await pipe.handle(Post(channel="rada_docs", message_id=3, date=T0, text=text))
    assert (done.stored, done.alerts) == (1, 1)
    assert await _found(store, "постанова") == [3]
    assert await _found(store, '"набирає чинності"') == [3]
    assert await _found(store, "1000007") == [3]
    # Short posts keep exact phrases (the index keeps their words' positions).
    later = T0 + timedelta(minutes=1)
    await pipe.handle(
        Post(channel="rada_docs", message_id=4, date=later, text="Чинності набирає постанова.")
    )
    assert await _found(store, '"набирає чинності"') == [3]
    assert await _found(store, '"чинності набирає"') == [4]


async def test_an_archive_holding_a_nul_moves_to_postgres(tmp_path: Path, pg_url: str) -> None:
    # A SQLite archive stored such a post whole (before posts dropped their NULs): the move to
    # PostgreSQL (wirewatch migrate-db) stopped at its batch, every time it was run again.
    path = tmp_path / "old.db"
    old = await Store.open(path)
    await Pipeline(old).handle(
        Post(channel="kharkiv_water", message_id=1, date=T0, text="Тиск у мережі стабільний.")
    )
    await old.db.execute("UPDATE posts SET text = ?, norm = ?", ("Тиск\x00 у мережі.", "тиск\x00"))
    await old.db.execute("UPDATE post_versions SET text = ?", ("Тиск\x00 у мережі.",))
    await old.close()
    counts = await copy_archive(path, pg_url)
    assert all(c.ok for c in counts), [c for c in counts if not c.ok]
    moved = await Store.open(pg_url)
    try:
        post = await moved.posts.get_by_link("kharkiv_water", 1)
        assert post is not None and post.text == "Тиск у мережі."
        assert await _found(moved, "тиск") == [1]
    finally:
        await moved.close()
