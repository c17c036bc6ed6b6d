"""Albums losing photos, through Telethon's own update objects and history (the seam):
the live deletion updates and the reconciliation that finds the same deletions after downtime
must leave the same album behind, on both back ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from telethon import types

from bot.ingest.pipeline import Pipeline
from bot.settings import JobSettings, TelegramSettings
from sources.telegram.listener import Listener
from storage.store import Store
from tests.sources.test_telegram import MINISTRY, alerts, desk, energy_text, quiet_text
from tests.telethon_seam import FakeTelegram, SeamClient

ALBUM = 661100
PHOTO = types.MessageMediaPhoto(photo=types.PhotoEmpty(id=41))


async def _no_sleep(_seconds: float) -> None:
    return None


async def listening(store: Store, fake: FakeTelegram) -> tuple[Listener, SeamClient]:
    client = SeamClient(fake)
    await client.connect()
    listener = Listener(
        client,
        store,
        Pipeline(store).handle,
        TelegramSettings(request_pause=0.0),
        JobSettings(reconcile_window=50),
        sleep=_no_sleep,
    )
    await listener.start()
    return listener, client


async def album_state(store: Store) -> dict[str, Any]:
    """What a newsroom sees of the album: is it deleted, its text and version, which of its
    photos are up, what the trail recorded as deleted, what journalists were sent."""
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    post = await store.posts.get(src.id, 2)
    assert post is not None
    trail = await store.db.fetchall(
        "SELECT message_id FROM evidence WHERE kind = 'deletion' ORDER BY id"
    )
    return {
        "deleted": post.deleted_at is not None,
        "text": post.text,
        "version": post.version,
        "up": [m.message_id for m in await store.posts.album_members(post.id) if m.up],
        "recorded": sorted(int(r[0]) for r in trail),
        "alerts": [a[0] for a in await alerts(store)],
    }


async def _album_arrives_live(store: Store, fake: FakeTelegram) -> tuple[Listener, SeamClient]:
    await desk(store)
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, quiet_text(1))
    listener, client = await listening(store, fake)
    for mid in (2, 3, 4):
        text = energy_text(mid) if mid == 2 else ""  # the caption on the first photo
        msg = fake.message(ch, mid, text, media=PHOTO, grouped_id=ALBUM)
        await client.dispatch(fake.new_update(ch, msg))
    assert (await album_state(store))["alerts"] == ["new"]
    return listener, client


def _fake() -> FakeTelegram:
    tg = FakeTelegram()
    tg.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
    return tg


AFTER_TWO = {
    "deleted": False,
    "text": "",  # the caption went with the first photo
    "version": 2,
    "up": [4],
    "recorded": [2, 3],
    "alerts": ["new", "edit"],
}
AFTER_ALL = {**AFTER_TWO, "deleted": True, "up": [], "recorded": [2, 3, 4]}
AFTER_ALL["alerts"] = ["new", "edit", "delete"]


async def test_live_deletions_of_album_photos(new_db: Callable[[], str]) -> None:
    store = await Store.open(new_db())
    try:
        fake = _fake()
        ch = fake.channels[MINISTRY]
        listener, client = await _album_arrives_live(store, fake)
        await client.dispatch(fake.delete_update(ch, 3))
        state = await album_state(store)
        assert (state["deleted"], state["up"], state["recorded"]) == (False, [2, 4], [3])
        assert state["alerts"] == ["new"]
        # The trail keeps Telegram's own update for the photo that went.
        src = await store.sources.by_username("energy_ministry_ua")
        assert src is not None
        records = [
            r for r in await store.evidence.for_message(src.username, 2) if r.kind == "deletion"
        ]
        assert [(r.message_id, r.origin) for r in records] == [(3, "telegram")]
        assert json.loads(records[0].raw)["messages"] == [3]
        await client.dispatch(fake.delete_update(ch, 2))
        assert await album_state(store) == AFTER_TWO
        await client.dispatch(fake.delete_update(ch, 4))
        assert await album_state(store) == AFTER_ALL
        await listener.stop()
    finally:
        await store.close()


async def test_reconciliation_reaches_the_live_paths_state(new_db: Callable[[], str]) -> None:
    store = await Store.open(new_db())
    try:
        fake = _fake()
        ch = fake.channels[MINISTRY]
        first, _ = await _album_arrives_live(store, fake)
        await first.stop()
        # Offline: the first two photos deleted; Telegram never replays that.
        fake.delete(ch, 2, 3)
        second, _ = await listening(store, fake)
        src = await store.sources.by_username("energy_ministry_ua")
        assert src is not None
        result = await second.reconcile(src)
        assert result.deleted == 2
        assert await album_state(store) == AFTER_TWO
        again = await second.reconcile(src)
        assert (again.edited, again.deleted, again.missed) == (0, 0, 0)
        assert await album_state(store) == AFTER_TWO
        fake.delete(ch, 4)
        await second.reconcile(src)
        assert await album_state(store) == AFTER_ALL
        await second.stop()
    finally:
        await store.close()
