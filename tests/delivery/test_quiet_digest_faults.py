"""The morning digest meets a Bot API that refuses it (the journalist blocked the bot, a bad
request): the stories folded into it and their later updates are neither lost nor stuck in
the outbox. Real pipeline, drafter and notifier, the fake Bot API over HTTP, on SQLite and
PostgreSQL. Texts written for these tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery.digest import release_quiet
from bot.delivery.notifier import Notifier
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings
from tests.delivery.test_quiet_followups import OTHER, STORY, STORY_EDITED, _desk, _pipeline
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]


async def _night_of_two_stories(
    store: Store, night: datetime, now: datetime, first: int
) -> Pipeline:
    """Two stories posted in the night, released as one digest now (messages `first` and the
    next); the pipeline that took them."""
    pipe = _pipeline(store, night)
    await pipe.handle(Post("oborona_demo", first, night, STORY))
    await pipe.handle(Post("oborona_demo", first + 1, night + timedelta(minutes=5), OTHER))
    assert await release_quiet(store, at=now) == 1
    return pipe


async def test_an_update_after_a_refused_digest_still_goes_out(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target)
    try:
        pipe = await _night_of_two_stories(store, night, now, 41)
        fakebot.fail("sendMessage", chat_id=7101, status=400, description="Bad Request: x")
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()
        kinds = {a.kind: a.status for a in await store.alerts.for_person(person.id)}
        assert kinds["digest"] == "failed"
        await pipe.handle(Post("oborona_demo", 41, night, STORY_EDITED, edit_date=now))
        await notifier.drain_once()
        (update,) = fakebot.sent_messages(7101)
        assert "40 генераторів" in (update.text or "")
        assert {a.status for a in await store.alerts.for_person(person.id)} <= {"sent", "failed"}
    finally:
        await store.close()


async def test_an_update_after_a_blocked_digest_follows_it_once_unblocked(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target)
    try:
        pipe = await _night_of_two_stories(store, night, now, 51)
        fakebot.block(7101, times=1)
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()
        assert fakebot.sent_messages(7101) == []
        await pipe.handle(Post("oborona_demo", 51, night, STORY_EDITED, edit_date=now))
        await notifier.drain_once()
        assert fakebot.sent_messages(7101) == []
        # The journalist writes to the bot again: reachable, the parked alerts go out.
        await store.people.set_pref(person.id, "reachable", 1)
        await release_quiet(store, at=now)
        await notifier.drain_once()
        await release_quiet(store, at=now)
        await notifier.drain_once()
        msgs = fakebot.sent_messages(7101)
        left = [(a.id, a.kind, a.status) for a in await store.alerts.for_person(person.id)]
        assert {s for _, _, s in left} == {"sent"}, (left, [m.text for m in msgs])
        digest = msgs[0]
        assert (digest.text or "").startswith("Поки у вас були тихі години")
        updates = [m for m in msgs if "40 генераторів" in (m.text or "")]
        assert [m.reply_to for m in updates] == [digest.message_id], [m.text for m in msgs]
    finally:
        await store.close()
