"""A story held for a journalist's quiet hours and its update: the journalist gets the story
first and the update as a reply to it, or both folded into the morning digest, never an
"Updated" message about a story they have not received. Real pipeline, drafter and notifier,
the fake Bot API over HTTP, on SQLite and PostgreSQL. Texts written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.digest import release_quiet
from bot.delivery.notifier import Notifier
from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.ingest.drafter import Drafter
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.models import Person
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings
from tests.delivery.test_translation import ENGLISH, provider_server
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

STORY = "Міністр оборони анонсував новий пакет допомоги для прикордонних громад."
STORY_EDITED = (
    "Міністр оборони анонсував новий пакет допомоги для прикордонних громад: 40 генераторів."
)
OTHER = "Міністр оборони провів нараду з командирами бригад щодо ротацій."


async def _desk(target: str, lang: str = "uk") -> tuple[Store, Person, datetime, datetime]:
    """A desk whose journalist's quiet hours ended a minute ago (in their zone, UTC): the
    moment the night's drafts were written (inside) and now (outside)."""
    store = await Store.open(target)
    await store.sources.upsert(
        "oborona_demo", attribution={"person_uk": "Олег Коваль", "person_en": "Oleh Koval"}
    )
    await store.rules.add("міністр оборони", rule_to_json(parse_rule("міністр оборони")))
    person = await store.people.add(role="journalist", user_id=7101, lang=lang)
    now = datetime.now(UTC)
    await store.people.set_pref(person.id, "tz", "UTC")
    await store.people.set_pref(
        person.id, "quiet_from", (now - timedelta(hours=3)).strftime("%H:%M")
    )
    await store.people.set_pref(
        person.id, "quiet_to", (now - timedelta(minutes=1)).strftime("%H:%M")
    )
    night = now - timedelta(minutes=30)
    return store, person, night, now


def _pipeline(store: Store, night: datetime, *, translate: bool = False) -> Pipeline:
    # The drafts of the night's posts are written in the night (held for the digest).
    return Pipeline(store, drafter=Drafter(store, clock=lambda: night, translate=translate))


async def test_an_update_waits_for_its_story_held_in_quiet_hours(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target)
    try:
        pipe = _pipeline(store, night)
        await pipe.handle(Post("oborona_demo", 11, night, STORY))
        (story,) = await store.alerts.for_person(person.id)
        assert story.status == "held"
        # The minute after the quiet hours end, before the release job's next tick, the
        # official edits the post: the update is queued at once (the night is over).
        await pipe.handle(Post("oborona_demo", 11, night, STORY_EDITED, edit_date=now))
        _, update = await store.alerts.for_person(person.id)
        assert update.kind == "edit" and update.reply_to_alert == story.id
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()
        # The update about a story the journalist has not received stays in the outbox.
        assert fakebot.sent_messages(7101) == []
        assert [a.id for a in await store.alerts.due() if a.person_id == person.id] == []

        assert await release_quiet(store, at=now) == 1
        await notifier.drain_once()
        first, second = fakebot.sent_messages(7101)
        assert "Оновлено" not in (first.text or "") and "40 генераторів" not in (first.text or "")
        assert (second.text or "").startswith("✏️ Оновлено") and "40 генераторів" in (
            second.text or ""
        )
        # Threaded under the story's own message.
        assert second.reply_to == first.message_id
        sent = {a.id: a for a in await store.alerts.for_person(person.id)}
        assert sent[story.id].status == sent[update.id].status == "sent"
        assert sent[story.id].tg_message_id == first.message_id
    finally:
        await store.close()


async def test_an_update_of_a_story_in_the_digest_is_folded_into_it(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target)
    try:
        pipe = _pipeline(store, night)
        await pipe.handle(Post("oborona_demo", 21, night, STORY))
        await pipe.handle(Post("oborona_demo", 22, night + timedelta(minutes=5), OTHER))
        assert {a.status for a in await store.alerts.for_person(person.id)} == {"held"}
        await pipe.handle(Post("oborona_demo", 21, night, STORY_EDITED, edit_date=now))
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()
        assert fakebot.sent_messages(7101) == []

        assert await release_quiet(store, at=now) == 1
        await notifier.drain_once()
        # One morning digest: the story shown once, as edited, with its current text; no
        # stray "Updated" reply to a story that went out only as a digest line.
        (digest,) = fakebot.sent_messages(7101)
        text = digest.text or ""
        assert text.startswith("Поки у вас були тихі години: 2 сповіщення")
        assert "✏️" in text and "40 генераторів" in text
        assert text.count("https://t.me/oborona_demo/21") == 1
        statuses = {a.kind: a.status for a in await store.alerts.for_person(person.id)}
        assert statuses == {"new": "sent", "edit": "sent", "digest": "sent"}
        # Later that morning the official edits the post again: the update goes out as a
        # reply to the digest, the message the journalist got the story in.
        await pipe.handle(
            Post("oborona_demo", 21, night, STORY_EDITED + " І 12 тепловиків.", edit_date=now)
        )
        await notifier.drain_once()
        _, later = fakebot.sent_messages(7101)
        assert (later.text or "").startswith("✏️ Оновлено") and "тепловиків" in (later.text or "")
        assert later.reply_to == digest.message_id
    finally:
        await store.close()


async def test_translations_of_stories_in_the_digest_follow_it_as_replies(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target, lang="en")
    try:
        pipe = _pipeline(store, night, translate=True)
        await pipe.handle(Post("oborona_demo", 31, night, STORY))
        await pipe.handle(Post("oborona_demo", 32, night + timedelta(minutes=5), OTHER))
        async with provider_server() as server:
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 2
        # Parked with their stories for the night.
        assert {a.status for a in await store.alerts.for_person(person.id)} == {"held"}

        assert await release_quiet(store, at=now) == 1
        await Notifier(store, fakebot.bot(), settings(fakebot)).drain_once()
        # The digest first (it holds both stories), each translation after it, threaded
        # under it: a translation used to arrive first, on its own, of a story not yet sent.
        digest, *translations = fakebot.sent_messages(7101)
        assert (digest.text or "").startswith("While you were in quiet hours: 2 alerts")
        assert len(translations) == 2
        for reply in translations:
            assert ENGLISH in (reply.text or "") and reply.reply_to == digest.message_id
    finally:
        await store.close()


async def test_a_removed_journalists_held_story_and_its_update_are_settled_unsent(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store, person, night, now = await _desk(db_target)
    try:
        pipe = _pipeline(store, night)
        await pipe.handle(Post("oborona_demo", 41, night, STORY))
        await pipe.handle(Post("oborona_demo", 41, night, STORY_EDITED, edit_date=now))
        story, update = await store.alerts.for_person(person.id)
        assert (story.status, update.status) == ("held", "pending")
        # The editor removes the journalist before the release job's next tick.
        await store.people.remove(person.id)
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()
        await release_quiet(store, at=now)
        await notifier.drain_once()

        # Nothing reaches someone who left the desk, and nothing stays owed to them: the
        # story and its update end failed, saying why, and the outbox has nothing waiting.
        assert fakebot.sent_messages(7101) == []
        for alert in await store.alerts.for_person(person.id):
            assert alert.status == "failed", alert
            assert alert.last_error == "not sent: the person was removed from the desk"
        assert await store.alerts.depth() == 0
        assert await store.alerts.next_due_at() is None
        # Counted as cancelled, not as deliveries that failed (/status, metrics, doctor).
        assert await store.alerts.counts() == {"cancelled": 2}
        # Nor does a later minute find anything to do for them.
        assert await store.alerts.release_candidates() == []
    finally:
        await store.close()
