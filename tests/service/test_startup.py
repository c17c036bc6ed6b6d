"""Start-up: the service is ready (health answering, posts ingested, alerts queued) before the
bot's stack, whose import costs seconds of CPU (aiogram builds ~600 pydantic models), is loaded.
Commands and alerts start once it is; nothing is lost meanwhile."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.service.app import App
from bot.settings import BotSettings, Settings
from tests.fakebot import FakeBotAPI
from tests.service.support import free_port, post_line, provision


async def test_ready_before_the_bot_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db, people=(5001,))
    feed.write_text("".join(post_line(n) + "\n" for n in range(1, 4)), encoding="utf-8")
    port = free_port()
    seen: dict[str, object] = {}
    build_bot = App._build_bot

    def spy(self: App) -> None:
        # What was already up when the bot's turn came.
        seen["ready"] = self.ready.is_set()
        seen["health"] = self.health is not None
        build_bot(self)

    monkeypatch.setattr(App, "_build_bot", spy)
    async with FakeBotAPI() as fakebot:
        settings = Settings(
            db=db,
            health_port=port,
            bot=BotSettings(token=fakebot.token, api_url=fakebot.url, chat_interval=0),
        )
        app = App(settings, feeds=[feed], feed_poll=0.05)
        await app.start()
        try:
            assert seen == {"ready": True, "health": True}
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/healthz") as resp,
            ):
                body = await resp.json()
            assert body["bot"] == "enabled"
            # Alerts queued before the bot was there go out once it is.
            await fakebot.wait_for(lambda a: len(a.sent_messages(5001)) >= 3, within=60)
        finally:
            await app.shutdown()
