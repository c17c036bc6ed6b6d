"""The listener in a newsroom's harder days, through Telethon's own code (tests/telethon_seam.py):
renamed channels, long outages, channels with nothing stored yet. Each test is a way a post was
lost, duplicated or put under the wrong name before."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from telethon import types

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from bot.settings import JobSettings, TelegramSettings
from sources.telegram.holes import Holes
from sources.telegram.listener import Listener
from storage.postgres.store import PgStore
from storage.records import Event, Post, note_text
from storage.store import Store
from tests.sources.test_telegram import MINISTRY, alerts, desk, energy_text, quiet_text
from tests.telethon_seam import FakeTelegram, SeamClient

SQUATTER = 1300666


class Recorder:
    def __init__(self, store: Store) -> None:
        self.pipeline = Pipeline(store)
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> object:
        self.events.append(event)
        return await self.pipeline.handle(event)

    def post_ids(self) -> list[int]:
        return [e.message_id for e in self.events if isinstance(e, Post)]


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def fake() -> FakeTelegram:
    tg = FakeTelegram()
    tg.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
    return tg


async def listening(
    store: Store, fake: FakeTelegram, *, window: int = 50, **settings: Any
) -> tuple[Listener, SeamClient, Recorder]:
    client = SeamClient(fake)
    await client.connect()
    rec = Recorder(store)
    listener = Listener(
        client,
        store,
        rec,
        TelegramSettings(**{"request_pause": 0.0, **settings}),
        JobSettings(reconcile_window=window),
        sleep=_no_sleep,
    )
    return listener, client, rec


async def renamed(store: Store, fake: FakeTelegram, posts: int = 3) -> Any:
    """The ministry's channel followed with `posts` posts, then renamed on Telegram (its old
    name free for anyone): the channel."""
    await desk(store)
    ch = fake.channels[MINISTRY]
    for i in range(1, posts + 1):
        fake.post(ch, i, energy_text(i))
    listener, _, _ = await listening(store, fake)
    await listener.start()
    ch.entity.username = "energy_ministry_new"
    return ch, listener


async def test_a_renamed_channels_old_name_taken_by_another_channel_is_not_followed(
    store: Store, fake: FakeTelegram
) -> None:
    # The ministry renames its channel; someone registers the freed name for a channel of
    # their own, with posts that look like the ministry's.
    await renamed(store, fake)
    squat = fake.add_channel("energy_ministry_ua", SQUATTER, "Міністерство енергетики")
    for i in range(1, 6):
        fake.post(squat, i, f"Фейк №{i}: енергетика громад відключена назавжди.")
    # Another account takes over (a failover, a new session): it has no access hash of the
    # ministry's channel and resolves the name it knows.
    fake.switch_account(types.User(id=888000222, access_hash=5, first_name="B"))
    listener, client, rec = await listening(store, fake)
    await listener.start()
    await client.dispatch(fake.new_update(squat, fake.message(squat, 6, energy_text(6))))
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    assert src.peer_id == MINISTRY
    assert rec.post_ids() == []
    texts = [r[0] for r in await store.db.fetchall("SELECT text FROM posts ORDER BY id")]
    assert not any("Фейк" in t for t in texts)
    assert await alerts(store) == []  # before: the impostor's posts 4-6 reached the desk
    assert "another channel" in note_text(src.error)


async def alerted_ids(store: Store) -> list[int]:
    """Message ids of the posts journalists were alerted about as new."""
    rows = await store.db.fetchall(
        "SELECT p.message_id FROM alerts a JOIN posts p ON p.id = a.post_id"
        " WHERE a.kind = 'new' ORDER BY a.id"
    )
    return [int(r[0]) for r in rows]


async def stored_ids(store: Store) -> list[int]:
    rows = await store.db.fetchall("SELECT message_id FROM posts ORDER BY message_id")
    return [int(r[0]) for r in rows]


async def test_posts_a_failed_gap_fetch_left_out_are_fetched_after_a_restart(
    store: Store, fake: FakeTelegram
) -> None:
    await store.sources.upsert("energy_ministry_ua")
    ch = fake.channels[MINISTRY]
    for i in range(1, 4):
        fake.post(ch, i, energy_text(i))
    listener, client, _ = await listening(store, fake, flood_wait_max=300)
    await listener.start()
    # Posts 4 and 5 were not pushed; post 6 was, while Telegram asked for an hour's pause:
    # the gap fetch is refused, post 6 is stored.
    fake.post(ch, 4, energy_text(4))
    fake.post(ch, 5, energy_text(5))
    fake.flood(3600)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 6, energy_text(6))))
    assert await stored_ids(store) == [1, 2, 3, 6]
    # The operator restarts the service before the pause is over.
    await listener.stop()
    listener, _, _ = await listening(store, fake, window=1)
    await listener.start()
    assert await stored_ids(store) == [1, 2, 3, 4, 5, 6]


async def test_a_quiet_channels_gap_is_filled_by_the_next_reconciliation(
    store: Store, fake: FakeTelegram
) -> None:
    await store.sources.upsert("energy_ministry_ua")
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))
    listener, client, _ = await listening(store, fake, window=1, flood_wait_max=300)
    await listener.start()
    fake.post(ch, 2, energy_text(2))
    fake.flood(3600)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 3, energy_text(3))))
    assert await stored_ids(store) == [1, 3]
    # No reconnect, no restart, and the channel is not busy enough to be polled: the pause
    # ends and the scheduled re-read comes (its window, one post, does not reach post 2).
    listener.gate.flood_until = 0.0
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.reconcile(src)
    assert await stored_ids(store) == [1, 2, 3]


async def test_a_gap_longer_than_catch_up_limit_is_fetched_whole(
    store: Store, fake: FakeTelegram
) -> None:
    await store.sources.upsert("energy_ministry_ua")
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))
    listener, client, _ = await listening(store, fake, window=1, catch_up_limit=3)
    await listener.start()
    # Telegram pushed nothing for a while (a long outage of its updates), then post 11.
    for i in range(2, 11):
        fake.post(ch, i, energy_text(i))
    await client.dispatch(fake.new_update(ch, fake.message(ch, 11, energy_text(11))))
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    for _ in range(3):  # each catch-up brings at most catch_up_limit posts
        await listener.catch_up(src)
    assert await stored_ids(store) == list(range(1, 12))


async def _on_a_new_store(
    new_db: Callable[[], str],
    fake: FakeTelegram,
    scenario: Callable[[Store, FakeTelegram], Awaitable[None]],
) -> None:
    """`scenario` on a store of its own, closed after it whatever happens."""
    store = await Store.open(new_db())
    try:
        await scenario(store, fake)
    finally:
        await store.close()


async def test_a_channel_renamed_on_telegram_is_followed_under_its_new_name(
    new_db: Callable[[], str], fake: FakeTelegram
) -> None:
    await _on_a_new_store(new_db, fake, _renamed)


async def _renamed(store: Store, fake: FakeTelegram) -> None:
    await desk(store)
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    # A rule for this channel only: it must keep firing under the new name.
    await store.rules.add(
        "прийом громадян", rule_to_json(parse_rule("прийом громадян")), source_id=src.id
    )
    ch = fake.channels[MINISTRY]
    for i in range(1, 4):
        fake.post(ch, i, energy_text(i))
    listener, client, _ = await listening(store, fake)
    await listener.start()
    ch.entity.username = "energy_ministry_new"
    await listener.reconcile(src)
    renamed = await store.sources.get(src.id)
    assert renamed is not None and renamed.username == "energy_ministry_new"
    assert "renamed to @energy_ministry_new" in note_text(renamed.error)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 4, quiet_text(4))))
    rows = await store.db.fetchall("SELECT payload FROM alerts ORDER BY id")
    assert len(rows) == 1
    # Its permalink opens the post: the old name opens nothing, or someone else's channel.
    assert "t.me/energy_ministry_new/4" in rows[0][0]
    assert "t.me/energy_ministry_ua/" not in rows[0][0]
    # Its posts are the same source's, before the rename and after.
    owners = await store.db.fetchall("SELECT DISTINCT source_id FROM posts")
    assert [r[0] for r in owners] == [src.id]


async def test_following_a_renamed_channel_by_its_new_name_renames_the_source(
    store: Store, fake: FakeTelegram
) -> None:
    ch, _ = await renamed(store, fake)
    squat = fake.add_channel("energy_ministry_ua", SQUATTER, "Міністерство енергетики")
    fake.post(squat, 4, f"Фейк: {energy_text(4)}")
    fake.switch_account(types.User(id=888000222, access_hash=5, first_name="B"))
    listener, _, rec = await listening(store, fake)
    await listener.start()  # the old name is refused: it opens the impostor
    fake.post(ch, 4, energy_text(4))
    # The editor does what the error says: follows the channel by its new name.
    src = await listener.follow("energy_ministry_new")
    assert src.peer_id == MINISTRY and src.username == "energy_ministry_new"
    assert [s.username for s in await store.sources.list()] == ["energy_ministry_new"]
    assert rec.post_ids() == [4]  # the post made meanwhile, from the ministry
    assert await alerts(store) == [("new", 4, None, 1)]
    texts = [r[0] for r in await store.db.fetchall("SELECT text FROM posts")]
    assert not any("Фейк" in t for t in texts)


async def test_the_old_name_of_a_renamed_channel_added_again_is_not_the_impostors(
    store: Store, fake: FakeTelegram
) -> None:
    _, listener = await renamed(store, fake, posts=1)
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.reconcile(src)  # the source takes the new name
    squat = fake.add_channel("energy_ministry_ua", SQUATTER, "Міністерство енергетики")
    fake.post(squat, 1, f"Фейк: {energy_text(1)}")
    # A sources file that still lists the old name adds it again at the next start.
    await store.sources.upsert("energy_ministry_ua")
    listener, _, rec = await listening(store, fake)
    await listener.start()
    assert rec.post_ids() == []
    again = await store.sources.by_username("energy_ministry_ua")
    assert again is not None and again.peer_id is None
    assert "another channel" in note_text(again.error)


async def test_a_channel_followed_again_does_not_alert_about_posts_from_while_it_was_not(
    new_db: Callable[[], str], fake: FakeTelegram
) -> None:
    await _on_a_new_store(new_db, fake, _followed_again)


async def _followed_again(store: Store, fake: FakeTelegram) -> None:
    await desk(store)
    ch = fake.channels[MINISTRY]
    for i in range(1, 4):
        fake.post(ch, i, energy_text(i))
    listener, client, _ = await listening(store, fake)
    await listener.start()
    # The desk stops following the ministry for the summer; it posts on.
    await listener.unfollow("energy_ministry_ua")
    for i in range(4, 30):
        fake.post(ch, i, energy_text(i))
    # Followed again from the bot (/watch): the summer's posts are context, not 26 alerts.
    await listener.follow("energy_ministry_ua")
    assert await alerts(store) == []
    assert await stored_ids(store) == list(range(1, 30))
    await client.dispatch(fake.new_update(ch, fake.message(ch, 30, energy_text(30))))
    assert await alerted_ids(store) == [30]
    # The same by the database (`wirewatch sources add`, a sources file): the listener's
    # next round picks the source up again.
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await store.sources.set_active(src.id, False)
    await listener.reconcile_due()
    for i in range(31, 40):
        fake.post(ch, i, energy_text(i))
    await store.sources.upsert("energy_ministry_ua")
    await listener.reconcile_due()
    assert await alerted_ids(store) == [30]
    assert await stored_ids(store) == list(range(1, 40))


async def test_the_first_posts_of_a_channel_followed_while_still_empty_alert(
    store: Store, fake: FakeTelegram
) -> None:
    await desk(store)
    ch = fake.channels[MINISTRY]
    fake.service(ch, 1)  # a new channel: only Telegram's own "channel created" message
    listener, client, _ = await listening(store, fake)
    await listener.start()
    assert await stored_ids(store) == []
    # Its first post comes while the connection is down; the catch-up on return finds it.
    client.lose_connection()
    fake.post(ch, 2, energy_text(2))
    await client.connect()
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.catch_up(src)
    assert await stored_ids(store) == [2]
    assert await alerted_ids(store) == [2]


@contextlib.asynccontextmanager
async def refusing_writes(store: Store) -> AsyncIterator[None]:
    """The database refuses every new post while inside (SQLite read-only; PostgreSQL a
    trigger that raises, as a server shutting down or out of disk would)."""
    if isinstance(store, PgStore):
        pool = store.pg.pool
        await pool.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;"
            " CREATE TRIGGER refuse BEFORE INSERT ON posts"
            " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
        try:
            yield
        finally:
            await pool.execute("DROP TRIGGER refuse ON posts; DROP FUNCTION refuse()")
        return
    await store.db.conn.execute("PRAGMA query_only = 1")
    try:
        yield
    finally:
        await store.db.conn.execute("PRAGMA query_only = 0")


async def _post_2_refused(store: Store, client: SeamClient, fake: FakeTelegram) -> None:
    """The database refuses writes for a moment (a full disk, a read-only remount, a server
    restarting) just as the ministry's post 2 arrives; post 3 is stored after it."""
    ch = fake.channels[MINISTRY]
    async with refusing_writes(store):
        await client.dispatch(fake.new_update(ch, fake.message(ch, 2, energy_text(2))))
    await client.dispatch(fake.new_update(ch, fake.message(ch, 3, energy_text(3))))
    assert await stored_ids(store) == [1, 3]


async def test_a_post_the_database_refused_is_fetched_again(
    store: Store, fake: FakeTelegram
) -> None:
    await desk(store)
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))
    listener, client, _ = await listening(store, fake, window=1)
    await listener.start()
    # The database refuses writes for a moment (a full disk, a read-only remount, a server
    # restarting) just as post 2 arrives.
    await _post_2_refused(store, client, fake)
    # The next re-read (its window, one post, does not reach post 2) or catch-up fetches it.
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.reconcile(src)
    assert await stored_ids(store) == [1, 2, 3]
    assert sorted(await alerted_ids(store)) == [2, 3]


async def test_a_post_one_account_left_out_is_fetched_by_the_account_that_reads_it_next(
    store: Store, fake: FakeTelegram
) -> None:
    # Two listener accounts (PostgreSQL). Account a's write of post 2 fails (the server
    # restarting); before a fetches it again, a stops (killed, rate-limited) and the channel
    # moves to account b. The left-out range was kept under a's name only: b never fetched
    # it, and post 2 was lost for good.
    if not isinstance(store, PgStore):
        pytest.skip("several listener accounts need PostgreSQL")
    await desk(store)
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))

    async def account(name: str) -> tuple[Listener, SeamClient]:
        client = SeamClient(fake)
        await client.connect()
        listener = Listener(
            client,
            store,
            Recorder(store),
            TelegramSettings(request_pause=0.0),
            JobSettings(reconcile_window=1),
            sleep=_no_sleep,
            name=name,
        )
        return listener, client

    first, client = await account("a")
    await first.start()
    await _post_2_refused(store, client, fake)
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    second, _ = await account("b")
    await second.reconcile(src)
    assert await stored_ids(store) == [1, 2, 3]
    # Fetched once: account a, back, finds nothing left to fetch there.
    assert await first.holes.first(src.id) is None


async def test_gaps_an_older_version_saved_under_the_account_are_still_fetched(
    store: Store,
) -> None:
    await store.state.set("listener.holes", json.dumps({"5": [[10, 20]], "6": [[3, 9]]}))
    assert await Holes(store.state, "listener.holes").first(5) == (10, 20)
    # Moved to the channel's own key: whichever account reads channel 6 next finds it.
    assert await Holes(store.state, "listener.b.holes").first(6) == (3, 9)
