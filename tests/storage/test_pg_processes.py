"""Several processes on one PostgreSQL: a listener, an import, a notifier each with a store of
their own (separate pools are separate writers, as separate processes are). Races are made
certain, not likely: one side holds its transaction open until the other is seen waiting on
a lock in pg_locks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.postgres.db import migrations
from storage.postgres.store import PgStore
from storage.records import Deletion, Post
from storage.store import Store

T0 = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[Store, Store]]:
    a = await Store.open(pg_url)
    b = await Store.open(pg_url)
    yield a, b
    await a.close()
    await b.close()


async def _until_waiting(url: str) -> None:
    """Returns once some session of this database waits for a lock another holds."""
    conn = await asyncpg.connect(url)
    try:
        # Another session's wait shows only in the server's lock table: polled.
        while not await conn.fetchval(  # noqa: ASYNC110
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.datname = current_database())"
        ):
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


def _post(mid: int) -> Post:
    return Post(
        channel="oblenergo_news",
        message_id=mid,
        date=T0 + timedelta(minutes=mid),
        text=f"Графік відключень, черга {mid}.",
    )


async def test_an_import_beside_a_live_listener_of_the_same_channel_stores_both(
    stores: tuple[Store, Store], pg_url: str
) -> None:
    # A desk imports a channel's history (wirewatch import) while the listener process stores
    # that channel's new posts. The listener stored post 150 between the import's look at
    # which posts it had and its insert: the import failed on the unique key ('duplicate key
    # value violates unique constraint'), every time the two met.
    importer, listener = stores
    await listener.sources.ensure("oblenergo_news")
    history = [_post(m) for m in range(1, 201)]
    stored = asyncio.Event()
    go_on = asyncio.Event()

    async def live() -> None:
        # The listener's transaction for post 150: stored, not yet committed.
        async with listener.ingest.transaction():
            await Pipeline(listener)._post(_post(150))
            stored.set()
            await go_on.wait()

    live_task = asyncio.create_task(live())
    await stored.wait()
    import_task = asyncio.create_task(
        Pipeline(importer, alert=False).handle_batch(history, chunk=500, worker=False)
    )
    await _until_waiting(pg_url)  # the import now waits on the listener's transaction
    go_on.set()
    await live_task
    done = await import_task
    assert done.stored == 199 and done.duplicates == 1
    assert await importer.posts.count() == 200


async def test_two_accounts_delivering_one_post_or_one_album_at_once_store_it_once(
    stores: tuple[Store, Store], pg_url: str
) -> None:
    # During a hand-over both listener accounts read the channel for a moment. The second to
    # arrive waits on the channel's row (locked by the first's transaction), then finds the
    # post: one post, one alert, the album one post. A guard: it held before this round.
    first, second = stores
    await first.people.add(role="journalist", user_id=11)
    await first.sources.ensure("oblenergo_news")
    album = [
        Post(
            channel="oblenergo_news",
            message_id=m,
            date=T0,
            text="Графік відключень на завтра." if m == 300 else "",
            grouped_id=77,
            media="photo",
        )
        for m in (300, 301)
    ]
    for a, b in ((_post(5), _post(5)), (album[0], album[1])):
        stored = asyncio.Event()
        go_on = asyncio.Event()

        async def hold(post: Post, stored: asyncio.Event, go_on: asyncio.Event) -> None:
            async with first.ingest.transaction():
                await Pipeline(first)._post(post)
                stored.set()
                await go_on.wait()

        holder = asyncio.create_task(hold(a, stored, go_on))
        await stored.wait()
        other = asyncio.create_task(Pipeline(second).handle(b))
        await _until_waiting(pg_url)
        go_on.set()
        await holder
        assert (await other).stored == 0
    assert await first.posts.count() == 2
    src = await first.sources.by_username("oblenergo_news")
    assert src is not None and await first.posts.album_post_id(src.id, 301) is not None


async def _drop(url: str, pid: int) -> None:
    """The server ends one session, as a restart, a failover or a cut network does."""
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_notifier_is_woken_by_other_processes_again_after_its_connection_drops(
    stores: tuple[Store, Store], pg_url: str
) -> None:
    # The notifier LISTENs on a connection of its own. When PostgreSQL restarted, that
    # connection was gone for good: alerts the listener process queued reached phones only
    # at the notifier's next idle look (30 s), after every restart until the notifier's own.
    notifier, listener = stores
    assert isinstance(notifier, PgStore)
    woke = asyncio.Event()
    await notifier.listen_outbox(woke.set)
    await _drop(pg_url, notifier.pg._listen_conn.get_server_pid())

    async def queue_until_woken() -> None:
        while not woke.is_set():
            await listener.alerts._notify()  # type: ignore[attr-defined]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woke.wait(), 0.2)

    await asyncio.wait_for(queue_until_woken(), 60)


async def test_a_lease_is_taken_back_after_its_connection_drops(
    stores: tuple[Store, Store], pg_url: str
) -> None:
    # A listener holds its Telegram session's lease as an advisory lock on a connection of
    # its own. When that connection dropped, the lock went with it and nothing took it back:
    # a second process started later got the lease and listened on the same session beside
    # the first (Telegram revokes such a session: AUTH_KEY_DUPLICATED).
    first, second = stores
    assert isinstance(first, PgStore)
    assert await first.try_lease("telegram-session:desk")
    await _drop(pg_url, first.pg._lease_conn.get_server_pid())

    async def until_held_again() -> None:
        # The lock table is the server's: polled.
        while await first.lease_holder("telegram-session:desk") is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_held_again(), 60)
    assert not await second.try_lease("telegram-session:desk")


async def test_processes_starting_together_on_an_empty_database_migrate_it_once(
    pg_url: str,
) -> None:
    # compose starts the listeners, the notifiers and the bot at the same moment on a new
    # database: each runs the migrations, one at a time under an advisory lock. A guard.
    opened = await asyncio.gather(*(Store.open(pg_url) for _ in range(4)))
    try:
        first = opened[0]
        assert isinstance(first, PgStore)
        rows = await first.pg.pool.fetch(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version"
        )
        assert [r[1] for r in rows] == [1] * len(rows)
        assert [r[0] for r in rows] == [n for n, _, _ in migrations()]
    finally:
        for store in opened:
            await store.close()


async def test_a_deletion_seen_while_another_process_stores_the_post_deletes_it(
    stores: tuple[Store, Store], pg_url: str
) -> None:
    # The official posts and deletes at once: one listener account stores the post while
    # the other (hand-over) sees it deleted. The deletion looked before the post was
    # committed, found nothing and was dropped: the post stayed up in the archive and nobody
    # alerted heard it was gone.
    first, second = stores
    jo = await first.people.add(role="journalist", user_id=11)
    await first.rules.add("відключень", rule_to_json(parse_rule("відключень")))
    await first.sources.ensure("oblenergo_news")
    stored = asyncio.Event()
    go_on = asyncio.Event()

    async def hold() -> None:
        async with first.ingest.transaction():
            await Pipeline(first)._post(_post(7))
            stored.set()
            await go_on.wait()

    holder = asyncio.create_task(hold())
    await stored.wait()
    gone = Deletion(channel="oblenergo_news", message_ids=(7,), date=T0 + timedelta(hours=1))
    deleting = asyncio.create_task(Pipeline(second).handle(gone))
    waiting = asyncio.create_task(_until_waiting(pg_url))
    await asyncio.wait([deleting, waiting], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    go_on.set()
    await holder
    assert (await deleting).deleted == 1
    post = await first.posts.get_by_link("oblenergo_news", 7)
    assert post is not None and post.deleted_at is not None
    assert [a.kind for a in await first.alerts.for_person(jo.id)] == ["new", "delete"]
