"""A story with a long history, as it reaches the journalist's phone: the real pipeline, drafter
and notifier, the fake Bot API over HTTP, SQLite and PostgreSQL. The "Earlier:" background
stays short and the alert stays one message, however long and hostile the older posts were.
Texts written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.notifier import Notifier
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
# One run-on sentence of about 3,000 characters, with markup to escape: no sentence break
# for the quote choice to stop at.
LONG = (
    "Енергосистема під тиском <b>увага</b> & бригади працюють у мережах 110 кВ "
    "Київ, Житомир — Чернігів, "
) * 34
STORY = "Енергосистема працює стабільно, графіків відключень сьогодні не буде."


async def test_a_long_history_reaches_the_phone_as_one_short_message(
    db_target: str, fakebot: FakeBotAPI
) -> None:
    store = await Store.open(db_target)
    try:
        await store.sources.upsert(
            "hrid_demo",
            attribution={"person_uk": "Ірина Ткач", "role_uk": "міністерка енергетики"},
        )
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        await store.people.add(role="journalist", user_id=7301, lang="uk", tz="Europe/Kyiv")
        history = [
            Post("hrid_demo", 10 + k, NOW - timedelta(days=20 - k), f"{LONG}зведення {k}.")
            for k in range(14)
        ]
        await Pipeline(store, alert=False).handle_batch(history)
        await Pipeline(store, background=3).handle(Post("hrid_demo", 99, NOW, STORY))
        await Notifier(store, fakebot.bot(), settings(fakebot)).drain_once()

        # One message (it was four: each older post quoted whole, 3,000 characters a line).
        (message,) = fakebot.sent_messages(7301)
        text = message.text or ""
        assert len(text) <= 4096
        tr = translator("uk")
        head, earlier = text.split("\n\n" + tr.gettext("Earlier:") + "\n")
        assert head.startswith("Міністерка енергетики Ірина Ткач")
        lines = earlier.split("\n\n")[0].splitlines()
        # Three lines at most (WIREWATCH_DRAFTS__BACKGROUND), newest first, each short and cut
        # around the rule's word, then the posts left out, counted.
        shown, closing = lines[:-1], lines[-1]
        assert 1 <= len(shown) <= 3
        for k, line in enumerate(shown):
            assert line.endswith(f"https://t.me/hrid_demo/{23 - k}")
            assert len(line) < 400 and "…" in line
        # The background search (a page of twice the lines it shows and two, as forwards of
        # one original collapse into one line) found eight; more are stored than it read.
        left = 8 - len(shown)
        assert closing == tr.ngettext(
            "…and more than {n} earlier post", "…and more than {n} earlier posts", left
        )
        # The markup in the posts arrived as text, not as formatting.
        assert "<b>увага</b>" in text
    finally:
        await store.close()


async def test_an_update_lists_as_many_earlier_posts_as_a_story(db_target: str) -> None:
    """A follow-up drops its own story from its background: a line took the story's place
    (it showed one line fewer, and "…and 1 earlier post" for the one it had not drafted)."""
    store = await Store.open(db_target)
    try:
        await store.sources.upsert("hrid_demo", attribution={"person_uk": "Ірина Ткач"})
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        person = await store.people.add(role="journalist", user_id=7302, lang="uk")
        older = [
            Post("hrid_demo", 20 + k, NOW - timedelta(days=9 - k), f"Енергосистема: зведення {k}.")
            for k in range(5)
        ]
        await Pipeline(store, alert=False).handle_batch(older)
        pipe = Pipeline(store, background=2)
        await pipe.handle(Post("hrid_demo", 30, NOW - timedelta(hours=1), STORY))
        await pipe.handle(Post("hrid_demo", 31, NOW, "Енергосистема: графік на завтра згодом."))
        story, update = await store.alerts.for_person(person.id)
        assert update.reply_to_alert == story.id
        for alert in (story, update):
            earlier = alert.payload["plain"].split("Раніше:\n")[1].split("\n\n")[0].splitlines()
            assert [line.rsplit("/", 1)[1] for line in earlier[:2]] == ["24", "23"], earlier
            assert earlier[2].startswith("…і ще ")
        assert "https://t.me/hrid_demo/30" not in update.payload["plain"].split("Раніше:")[1]
    finally:
        await store.close()
