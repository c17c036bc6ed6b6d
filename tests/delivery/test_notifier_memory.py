"""A backlog waits in the outbox, not in the notifier's memory: a paced chat with hundreds of
pending alerts costs the notifier their ids, not their rows and payloads."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

from bot.delivery.notifier import Notifier
from storage.store import Store
from tests.delivery.test_notifier import Outbox, payload, settings
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

PENDING = 500


async def test_pending_alerts_are_held_as_ids_not_rows(
    tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        box = await Outbox(store).setup(1)
        body = payload("backlog")
        # A long draft, within Telegram's 4,096 characters: ~12 KiB a payload in memory.
        body["messages"][0]["html"] += " слово" * 500
        body["plain"] += " слово" * 500
        for _ in range(PENDING):
            await box.alert(box.people[0], body=body)
        # One message a minute: everything after the first waits.
        n = Notifier(store, fakebot.bot(), settings(fakebot, chat_interval=60.0), idle_poll=60)
        gc.collect()
        tracemalloc.start()
        stop = asyncio.Event()
        task = asyncio.create_task(n.run(stop))
        try:
            async with asyncio.timeout(30):
                while not fakebot.calls("sendMessage", ok=True):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            gc.collect()
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            stop.set()
            await task
        # The rows would be PENDING x ~12 KiB = 6 MiB; ids, a few KiB (aiohttp and the
        # fake's own buffers are traced too: the bound is loose).
        assert held < 1.5 * 1024 * 1024, held
    finally:
        await store.close()
