"""Several notifiers on one PostgreSQL outbox (separate pools, as separate processes would
have): every alert reaches its chat exactly once and in order, a chat is claimed by one
notifier at a time (`FOR UPDATE SKIP LOCKED` on its claim row), a dead notifier's chats are
claimed again when its claims run out, and an alert queued by another process wakes them
through LISTEN/NOTIFY. Runs against the test session's real server."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.delivery.notifier import Notifier
from storage.store import Store
from tests.delivery.test_notifier import MARK, Outbox, eventually, settings
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]


@pytest.mark.parametrize("count", [2, 3])
async def test_notifiers_share_the_outbox_without_a_double_or_a_reorder(
    pg_url: str, fakebot: FakeBotAPI, count: int
) -> None:
    writer = await Store.open(pg_url)
    stores = [await Store.open(pg_url) for _ in range(count)]
    stop = asyncio.Event()
    try:
        box = await Outbox(writer).setup(3 * count)
        for _ in range(8):
            for person in box.people:
                await box.alert(person)
        total = 8 * len(box.people)
        notifiers = [Notifier(s, fakebot.bot(), settings(fakebot), idle_poll=0.2) for s in stores]
        tasks = [asyncio.create_task(n.run(stop)) for n in notifiers]

        async def all_sent() -> bool:
            return (await writer.alerts.counts()).get("sent", 0) == total

        await eventually(all_sent, within=60)
        stop.set()
        await asyncio.gather(*tasks)
        sent = [int(m) for msg in fakebot.sent_messages() for m in MARK.findall(msg.text or "")]
        assert Counter(sent).most_common(1)[0][1] == 1  # no alert twice
        assert sorted(sent) == sorted(box.tag.values())  # none lost
        for person in box.people:
            assert person.user_id is not None
            tags = [
                int(t)
                for m in fakebot.sent_messages(person.user_id)
                for t in MARK.findall(m.text or "")
            ]
            assert tags == sorted(tags)  # each chat in the order its alerts were queued
    finally:
        stop.set()
        for s in (*stores, writer):
            await s.close()


async def test_an_alert_queued_elsewhere_wakes_a_notifier_through_notify(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    writer = await Store.open(pg_url)
    reader = await Store.open(pg_url)
    stop = asyncio.Event()
    try:
        box = await Outbox(writer).setup(1)
        # Polling alone would not look again for an hour: only the NOTIFY can wake it.
        notifier = Notifier(reader, fakebot.bot(), settings(fakebot), idle_poll=3600)
        await reader.listen_outbox(notifier.wake)
        task = asyncio.create_task(notifier.run(stop))
        await asyncio.sleep(0.3)  # let it go idle on an empty outbox
        await box.alert(box.people[0])

        async def sent() -> bool:
            return notifier.sent == 1

        await eventually(sent, within=30)
        stop.set()
        await task
    finally:
        stop.set()
        await reader.close()
        await writer.close()


async def test_concurrent_claims_give_each_chat_to_one_notifier(pg_url: str) -> None:
    """Three notifiers claiming at the same moment, again and again: every chat with alerts
    due goes to exactly one of them (none twice, none left out)."""
    writer = await Store.open(pg_url)
    stores = [await Store.open(pg_url) for _ in range(3)]
    try:
        box = await Outbox(writer).setup(24)
        for person in box.people:
            await box.alert(person)
            await box.alert(person)
        everyone = {p.id for p in box.people}
        for _ in range(6):
            batches = await asyncio.gather(*(s.alerts.due(limit=1000) for s in stores))
            chats = [{a.person_id for a in batch} for batch in batches]
            assert sum(len(c) for c in chats) == len(everyone), "a chat claimed twice"
            assert set().union(*chats) == everyone
            for store, batch in zip(stores, batches, strict=True):
                mine = {a.person_id for a in batch}
                # Each chat comes with all its due alerts, oldest first.
                assert [a.id for a in batch] == sorted(a.id for a in batch)
                assert len(batch) == 2 * len(mine)
                # Held: the others cannot take it, the holder renews it.
                for other in stores:
                    if other is not store:
                        for person_id in list(mine)[:2]:
                            assert not await other.alerts.try_lease(person_id)
                for person_id in mine:
                    assert await store.alerts.try_lease(person_id)
                    await store.alerts.release_lease(person_id)
    finally:
        for s in (*stores, writer):
            await s.close()


async def test_a_dead_notifiers_chats_are_claimed_again_when_its_claims_run_out(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    writer = await Store.open(pg_url)
    dead = await Store.open(pg_url)
    heir = await Store.open(pg_url)
    stop = asyncio.Event()
    try:
        box = await Outbox(writer).setup(4)
        for _ in range(3):
            for person in box.people:
                await box.alert(person)
        dead.alerts.claim_ttl = 1.0
        claimed = await dead.alerts.due(limit=1000)
        assert len(claimed) == 12
        await dead.close()  # killed: nothing given back, nothing sent

        # The claims are live: the other notifier gets none of those chats yet.
        assert await heir.alerts.due(limit=1000) == []
        notifier = Notifier(heir, fakebot.bot(), settings(fakebot), idle_poll=0.2)
        task = asyncio.create_task(notifier.run(stop))

        async def all_sent() -> bool:
            return (await writer.alerts.counts()).get("sent", 0) == 12

        await eventually(all_sent, within=30)
        stop.set()
        await task
        sent = [int(m) for msg in fakebot.sent_messages() for m in MARK.findall(msg.text or "")]
        assert sorted(sent) == sorted(box.tag.values())  # each once
        for person in box.people:
            assert person.user_id is not None
            tags = [
                int(t)
                for m in fakebot.sent_messages(person.user_id)
                for t in MARK.findall(m.text or "")
            ]
            assert tags == sorted(tags)
    finally:
        stop.set()
        for s in (heir, writer):
            await s.close()


async def test_a_stalled_notifier_whose_claim_ran_out_does_not_take_the_chat_back(
    pg_url: str,
) -> None:
    """A notifier that stalled past its claim (not dead) must stop before its next alert:
    the chat is another's now, and taking it back would put two senders on one chat."""
    writer = await Store.open(pg_url)
    slow = await Store.open(pg_url)
    other = await Store.open(pg_url)
    try:
        box = await Outbox(writer).setup(1)
        (person,) = box.people
        await box.alert(person)
        slow.alerts.claim_ttl = 0.5
        assert await slow.alerts.try_lease(person.id)
        assert not await other.alerts.try_lease(person.id)

        async def taken() -> bool:
            return await other.alerts.try_lease(person.id)

        await eventually(taken, within=10)
        assert not await slow.alerts.try_lease(person.id)
        await slow.alerts.release_lease(person.id)  # gives back nothing of the other's
        assert await other.alerts.try_lease(person.id)
        await other.alerts.release_lease(person.id)
        assert await slow.alerts.try_lease(person.id)
    finally:
        for s in (slow, other, writer):
            await s.close()
