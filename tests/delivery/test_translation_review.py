"""A translation reply follows its alert, also into quiet hours: parked with it, not sent on
its own in the night."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery.digest import release_quiet
from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.delivery.test_translation import QUOTE, _desk, provider_server


async def test_a_translation_of_an_alert_held_for_quiet_hours_waits_with_it(
    tmp_path: Path,
) -> None:
    store, en_id, _ = await _desk(tmp_path)
    try:
        # The English reader sleeps now (their quiet hours, in their own zone, hold this hour).
        now = datetime.now(UTC)
        await store.people.set_pref(en_id, "tz", "UTC")
        await store.people.set_pref(
            en_id, "quiet_from", (now - timedelta(hours=1)).strftime("%H:%M")
        )
        await store.people.set_pref(
            en_id, "quiet_to", (now + timedelta(hours=2)).strftime("%H:%M")
        )
        async with provider_server() as server:
            pipe = Pipeline(store, translate=True)
            await pipe.handle(Post("haiova_demo", 1, now, QUOTE))
            (alert,) = await store.alerts.for_person(en_id)
            assert alert.status == "held" and alert.payload["translate"]["target"] == "en"
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 1
            _, reply = await store.alerts.for_person(en_id)
            assert reply.kind == "translation" and reply.reply_to_alert == alert.id
            # It was queued 'pending': the notifier sends a reply whose original is held on
            # its own, so the reader was woken by a translation of an alert they never got.
            assert reply.status == "held"
            assert [a for a in await store.alerts.due() if a.person_id == en_id] == []
            # When the night is over the alert goes out, its translation after it (a digest
            # would have dropped the translated text).
            after = now + timedelta(hours=3)
            assert await release_quiet(store, at=after) == 1
            due = [a.id for a in await store.alerts.due() if a.person_id == en_id]
            assert due == [alert.id, reply.id]
    finally:
        await store.close()
