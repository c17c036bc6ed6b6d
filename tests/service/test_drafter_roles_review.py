"""Drafts written in another process than the one that queued them (PostgreSQL roles): a
notifier's drafter writes the drafts a stopped listener left, and they must read as the
listener's own would have, translation mark included."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.ingest.pipeline import Pipeline
from bot.service.app import App
from bot.settings import BotSettings, Settings, TranslationSettings
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, fakebot
from tests.service.support import CHANNEL, START, provision

__all__ = ["fakebot"]

# A Ukrainian post for an English-reading journalist: a translation of the quote is owed.
TEXT = (
    "Енергосистема області працює стабільно: ремонтні бригади відновили живлення "
    "ще для дванадцяти громад після нічної атаки."
)


async def test_a_notifier_drafting_what_a_listener_left_still_asks_for_the_translation(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    await provision(pg_url, people=())
    writer = await Store.open(pg_url)
    try:
        await writer.people.add(role="journalist", user_id=5002, lang="en")
        # The listener process stores the post and queues its alert, then stops before its
        # drafter gets to it.
        listener_side = Pipeline(writer, defer_drafts=True)
        result = await listener_side.handle(
            Post(channel=CHANNEL, message_id=1, date=START, text=TEXT)
        )
        assert result.alerts == 1
        settings = Settings(
            db=pg_url,
            health_port=0,
            bot=BotSettings(
                token=fakebot.token, api_url=fakebot.url, chat_interval=0.0, global_rate=1000.0
            ),
            # The listener processes run the worker; this process only drafts and delivers.
            translation=TranslationSettings(
                provider="libretranslate", libretranslate_url="http://127.0.0.1:9"
            ),
        )
        app = App(settings, role="notifier")
        await app.start()
        try:
            async with asyncio.timeout(30):
                while (await writer.alerts.counts()).get("drafting"):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await app.shutdown()
        (alert,) = [a for a in await writer.alerts.for_person(1) if a.kind == "new"]
        assert alert.payload.get("translate", {}).get("target") == "en", alert.payload
    finally:
        await writer.close()


async def test_the_drafter_stops_with_the_service_instead_of_being_cancelled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The drafter waited for a wake-up or its 30 s poll and never looked at the stop signal:
    # every stop (SIGTERM) spent the whole shutdown budget waiting for it, then cancelled it,
    # possibly in the middle of writing drafts.
    db = tmp_path / "w.db"
    await provision(db)
    app = App(Settings(db=db, health_port=0), feeds=[])
    await app.start()
    async with asyncio.timeout(30):
        while not app.components["drafter"].up:  # noqa: ASYNC110 - the task starting
            await asyncio.sleep(0.01)
    caplog.set_level(logging.WARNING, logger="bot.service.app")
    await app.shutdown()
    assert not [r for r in caplog.records if "did not stop in time" in r.getMessage()]
