"""The pipeline's writes in few round trips to the database thread (storage/ingest.py): the same
rows as before, in one transaction, however the post arrives."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import storage.ingest
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.db import Database
from storage.records import Deletion, Event, Post
from storage.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "trips.db")
    yield s
    await s.close()


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Counts round trips to the database: hops to aiosqlite's thread (every awaited
    statement, fetch, cursor close or Database.run goes through Connection._execute) and the
    plans `Database.run(inline=True)` ran on the event loop's thread instead."""
    count = [0]
    orig = aiosqlite.Connection._execute
    orig_inline = Database._inline

    async def counted(conn: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await orig(conn, fn, *args, **kwargs)

    def inline(db: Database, *args: Any, **kwargs: Any) -> Any:
        ran, result = orig_inline(db, *args, **kwargs)
        count[0] += ran
        return ran, result

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    Database._inline = inline  # type: ignore[method-assign]
    try:
        yield count
    finally:
        aiosqlite.Connection._execute = orig  # type: ignore[method-assign]
        Database._inline = orig_inline  # type: ignore[method-assign]


def post(mid: int, text: str, *, channel: str = "energy_ministry", **kw: Any) -> Post:
    return Post(channel=channel, message_id=mid, date=T0 + timedelta(minutes=mid), text=text, **kw)


async def fts_consistent(store: Store) -> None:
    # FTS5 compares the external-content index with the posts table, row by row (a post left
    # out of the index, or an index row without its post, included); raises if they differ.
    # Migration 0022 dropped the per-row sizes table that counted the index's rows.
    await store.db.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")


async def test_a_post_no_rule_wants_takes_one_round_trip(store: Store) -> None:
    await store.people.add(role="journalist", user_id=21)
    await store.rules.add("блекаут", rule_to_json(parse_rule("блекаут")))
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Графіки відключень на завтра не застосовуватимуть."))
    with round_trips() as trips:
        result = await pipe.handle(post(2, "Ремонт підстанції на Київщині завершено."))
    assert result.stored == 1 and result.alerts == 0
    assert trips[0] == 1
    stored = await store.posts.get_by_link("energy_ministry", 2)
    assert stored is not None and stored.version == 1
    assert await store.posts.versions(stored.id)
    assert len(await store.evidence.for_message("energy_ministry", 2)) == 1
    hits = await store.search.search(None, limit=5)
    assert [p.message_id for p in hits] == [2, 1]
    await fts_consistent(store)


async def test_a_matching_post_takes_a_handful_of_round_trips(store: Store) -> None:
    for k in range(5):
        await store.people.add(role="journalist", user_id=30 + k)
    await store.rules.add("підстанція", rule_to_json(parse_rule("підстанція")))
    pipe = Pipeline(store, defer_drafts=True)
    await pipe.handle(post(1, "Пошкоджено підстанцію в області."))
    await pipe.drafter.run()
    with round_trips() as trips:
        result = await pipe.handle(post(2, "Підстанцію відновили за добу."))
    # Store, recipients, their threads, the five alerts and the commit, in one trip; the
    # drafts are written after it.
    assert result.alerts == 5
    assert trips[0] == 1, trips
    with round_trips() as trips:
        assert await pipe.drafter.run() == 5
    # The queued alerts, the post, its source, the people, the background search and its
    # sources, the story's first post, the drafts (one transaction), the empty queue.
    assert trips[0] <= 14, trips
    alerts = await store.alerts.for_person((await store.people.list())[0].id)
    assert [a.status for a in alerts] == ["pending", "pending"]
    assert "Підстанцію відновили" in alerts[1].payload["plain"]


async def test_a_rule_added_after_the_last_post_is_matched(store: Store) -> None:
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Енергосистема працює стабільно."))
    await store.people.add(role="journalist", user_id=41)
    await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
    # The pipeline's matcher does not know the rule yet: the round trip that stores the post
    # sees the rules changed and leaves the transaction open for the alert.
    result = await pipe.handle(post(2, "Енергосистема витримала нічну атаку."))
    assert result.alerts == 1


@pytest.mark.parametrize("forward", [False, True])
async def test_a_failure_after_the_post_is_stored_stores_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, forward: bool
) -> None:
    """Queueing the alerts fails, in the trip that stored the post (a plain post) or in a trip
    of its own (a forward): the post, its evidence and its FTS row go too."""
    await store.people.add(role="journalist", user_id=51)
    await store.rules.add("атака", rule_to_json(parse_rule("атака")))
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Спокійна ніч."))
    extra = {"forward_link": "https://t.me/grid_news/7"} if forward else {}

    def broken(*args: object, **kwargs: object) -> list[int | None]:
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(storage.ingest, "_enqueue", broken)
        with pytest.raises(sqlite3.OperationalError):
            await pipe.handle(post(2, "Нічна атака на енергосистему.", **extra))
    assert await store.posts.get_by_link("energy_ministry", 2) is None
    assert await store.evidence.for_message("energy_ministry", 2) == []
    # Nothing was left half-open: the next post goes through, alert and all.
    assert (await pipe.handle(post(2, "Нічна атака на енергосистему.", **extra))).alerts == 1
    await fts_consistent(store)


def _events() -> list[Event]:
    """New posts in two channels, a repeat, an edit, an album, a deletion, a forward."""
    return [
        post(1, "Атака на енергосистему: пошкоджено підстанцію."),
        post(2, "Ремонтні бригади працюють на Київщині."),
        post(3, "Підстанцію відновлено.", channel="grid_operator"),
        post(1, "Атака на енергосистему: пошкоджено підстанцію."),  # a repeat
        post(4, "Графік відключень на завтра.", grouped_id=77, media="photo"),
        post(5, "", grouped_id=77, media="photo"),  # the album's second photo
        post(
            2,
            "Ремонтні бригади працюють на Київщині та Житомирщині.",
            edit_date=T0 + timedelta(hours=1),
        ),
        post(6, "Нова атака дронів на підстанцію.", channel="grid_operator"),
        Deletion(channel="energy_ministry", message_ids=(4,), date=T0 + timedelta(hours=2)),
        post(7, "Підстанцію знову відновлено.", forward_from="grid_operator"),
    ]


async def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "posts": "SELECT source_id, message_id, date, text, norm, lemmas, media, grouped_id,"
        " forward_from, edit_date, deleted_at, version FROM posts ORDER BY id",
        "versions": "SELECT post_id, version, text, edit_date FROM post_versions"
        " ORDER BY post_id, version",
        "albums": "SELECT source_id, message_id, post_id FROM album_items ORDER BY message_id",
        # A chunk stores channel by channel: records of one message are in order, not all.
        "evidence": "SELECT channel, message_id, kind, version, origin, raw, sha256 FROM evidence"
        " ORDER BY channel, message_id, id",
        "sources": "SELECT id, username, last_message_id, last_post_at FROM sources ORDER BY id",
        "alerts": "SELECT person_id, post_id, kind, version, rule_id, payload, status,"
        " reply_to_alert, spans FROM alerts ORDER BY id",
    }
    return {k: [tuple(r) for r in await store.db.fetchall(q)] for k, q in queries.items()}


async def test_import_and_live_path_store_the_same_rows(new_db: Callable[[], str]) -> None:
    """The bulk lane (one round trip per channel and chunk) and the live path (one per post)
    leave identical tables, FTS index included."""
    dumps = []
    for how in ("live", "batch"):
        target = new_db()
        store = await Store.open(target)
        try:
            await store.people.add(role="journalist", user_id=61)
            await store.rules.add("підстанція", rule_to_json(parse_rule("підстанція")))
            pipe = Pipeline(store)
            if how == "live":
                for ev in _events():
                    await pipe.handle(ev)
            else:
                await pipe.handle_batch(_events(), chunk=4)
            dumps.append(await _dump(store))
            if not target.startswith("postgresql"):
                await fts_consistent(store)
        finally:
            await store.close()
    live, batch = dumps
    assert live["posts"] and live["alerts"] and live["albums"]
    assert live == batch


@pytest.mark.parametrize("text", ["Ремонт лінії завершено.", "Нічна атака на енергосистему."])
async def test_a_post_handled_inside_a_callers_transaction_commits_with_it(
    store: Store, text: str
) -> None:
    """A post that alerts nobody, or one whose alerts storage queues in the same trip, may end
    its own transaction there, but not a caller's it joined: that one rolls back whole."""
    await store.people.add(role="journalist", user_id=61)
    await store.rules.add("атака", rule_to_json(parse_rule("атака")))
    pipe = Pipeline(store, defer_drafts=True)
    await pipe.handle(post(1, "Спокійна ніч."))
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await pipe.handle(post(2, text))
            raise RuntimeError("the caller fails after the post")
    assert await store.posts.get_by_link("energy_ministry", 2) is None
    assert await store.evidence.for_message("energy_ministry", 2) == []
    assert (await pipe.handle(post(2, text))).stored == 1
    await fts_consistent(store)
