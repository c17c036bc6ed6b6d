"""The service runs the translation worker it is configured for: the alert is in the outbox
at once, the translation reply follows; a provider that cannot run is named in /healthz's
'degraded' list, not a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.service.app import App
from bot.settings import Settings, TranslationSettings
from storage.store import Store
from tests.delivery.test_translation import ENGLISH, provider_server
from tests.service.support import post_line, provision


async def test_the_worker_replies_to_alerts_in_another_language(tmp_path: Path) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db)
    store = await Store.open(db)
    try:
        await store.people.add(role="journalist", user_id=5002, lang="en")
    finally:
        await store.close()
    feed.write_text(post_line(1) + "\n", encoding="utf-8")
    async with provider_server() as server:
        settings = Settings(
            db=db,
            health_port=0,
            translation=TranslationSettings(
                provider="libretranslate", libretranslate_url=server.url, timeout=5
            ),
        )
        app = App(settings, feeds=[feed], feed_poll=0.05)
        await app.start()
        try:
            assert "translations" in app.components
            assert app.store is not None
            live = app.store

            async def replies() -> list[str]:
                rows = await live.db.fetchall(
                    "SELECT payload FROM alerts WHERE kind = 'translation'"
                )
                return [str(r[0]) for r in rows]

            async with asyncio.timeout(30):
                while not await replies():  # noqa: ASYNC110 - polling the database
                    await asyncio.sleep(0.05)
            (reply,) = await replies()
            assert ENGLISH in reply
            # Only the English reader's alert asked for one; the Ukrainian reader's did not.
            assert server.requests[-1]["target"] == "en" and len(server.requests) == 1
        finally:
            await app.shutdown()


async def test_telegram_translation_without_a_listener_is_reported_not_fatal(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.db"
    await provision(db)
    settings = Settings(db=db, health_port=0, translation=TranslationSettings(provider="telegram"))
    app = App(settings, feeds=[], feed_poll=0.05)
    await app.start()
    try:
        assert app.translations is None
        assert any("translation via Telegram needs the listener" in d for d in app.degraded)
    finally:
        await app.shutdown()
