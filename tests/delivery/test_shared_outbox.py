"""Several notifiers on one PostgreSQL outbox (separate pools, as separate processes would
have): every alert reaches its chat exactly once and in order, and an alert queued by another
process wakes them through LISTEN/NOTIFY. Runs against the test session's real server."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.delivery.notifier import Notifier
from storage.store import Store
from tests.delivery.test_notifier import MARK, Outbox, eventually, settings
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]


async def test_two_notifiers_share_the_outbox_without_a_double_or_a_reorder(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    writer = await Store.open(pg_url)
    stores = [await Store.open(pg_url) for _ in range(2)]
    stop = asyncio.Event()
    try:
        box = await Outbox(writer).setup(6)
        for _ in range(8):
            for person in box.people:
                await box.alert(person)
        notifiers = [Notifier(s, fakebot.bot(), settings(fakebot), idle_poll=0.2) for s in stores]
        tasks = [asyncio.create_task(n.run(stop)) for n in notifiers]

        async def all_sent() -> bool:
            return (await writer.alerts.counts()).get("sent", 0) == 48

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
