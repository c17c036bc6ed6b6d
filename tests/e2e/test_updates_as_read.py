"""Updates of a story as the journalist reads them. An edit a reader cannot see (the official's
app re-saved the post with a trailing space or a doubled space) reached everyone alerted as
"✏️ Updated at …" with no "What changed" and the same quote; a follow-up with nothing to quote
and no picture (a poll, emoji only) said "posted a photo". End to end: the pipeline, the
notifier over real HTTP to the fake Bot API, once per language. Test data: an invented channel
and posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery.notifier import Notifier
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.delivery.test_notifier import settings as bot_settings
from tests.handlers.harness import EDITOR, JOURNALIST, running_desk

WHEN = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
TEXT = "Енергетики відновили живлення в прикордонних громадах області.\nРоботи тривають."


async def test_an_edit_only_of_spaces_is_stored_but_tells_nobody(
    tmp_path: Path, lang: str
) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(EDITOR, "/rule add прикордонних")
        pipe = Pipeline(desk.store)
        notifier = Notifier(desk.store, desk.api.bot(), bot_settings(desk.api))

        async def post(text: str, minutes: int) -> None:
            edit = WHEN + timedelta(minutes=minutes) if minutes else None
            await pipe.handle(Post("grid_ministry_demo", 500, WHEN, text, edit_date=edit))
            await notifier.drain_once()

        await post(TEXT, 0)
        alerts = desk.bot_messages(JOURNALIST)
        assert len(alerts) == 1
        for n, same in enumerate(
            (
                TEXT + " ",
                TEXT.replace(" в ", "  в "),
                TEXT.replace("\n", "\n\n"),
                "\u00a0" + TEXT.replace("громадах ", "громадах\u00a0"),
            ),
            start=1,
        ):
            await post(same, n)
            assert len(desk.bot_messages(JOURNALIST)) == 1, repr(same)
        stored = await desk.store.posts.get_by_link("grid_ministry_demo", 500)
        assert stored is not None and stored.version == 5  # every state kept for the record

        # A change of words is still an edit, a reply to the alert.
        await post(TEXT.replace("тривають", "завершено"), 10)
        replies = desk.bot_messages(JOURNALIST)[1:]
        assert len(replies) == 1 and replies[0].reply_to == alerts[0].message_id
        assert "завершено" in (replies[0].text or "")


async def test_a_follow_up_without_words_or_picture_does_not_say_a_photo_was_posted(
    tmp_path: Path, lang: str
) -> None:
    # A poll (or a post of emoji only) from the same official within the story's window came
    # as "Updated at 6:23 p.m. Kovalenko posted a photo on Telegram": the follow-up took any
    # post it could not quote for a photo.
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(EDITOR, "/rule add from:@grid_ministry_demo")
        pipe = Pipeline(desk.store)
        notifier = Notifier(desk.store, desk.api.bot(), bot_settings(desk.api))
        channel = "grid_ministry_demo"
        await pipe.handle(Post(channel, 600, WHEN, TEXT))
        await notifier.drain_once()
        for n, (text, media) in enumerate((("", "poll"), ("🔥🔥🔥", None), ("", "photo")), 1):
            when = WHEN + timedelta(minutes=n)
            await pipe.handle(Post(channel, 600 + n, when, text, media=media))
            await notifier.drain_once()
        first, poll, emoji, photo = desk.bot_messages(JOURNALIST)
        said_photo = desk.tr.pgettext("feminine speaker", "posted a photo")
        for follow_up in (poll, emoji):
            paragraph = (follow_up.text or "").split("\n")[0]
            assert follow_up.reply_to in (first.message_id, poll.message_id)
            assert said_photo not in paragraph, paragraph
            assert desk.tr.pgettext("lead verb, feminine speaker", "said") in paragraph, paragraph
        # A photo with no words is still "posted a photo".
        assert said_photo in (photo.text or "").split("\n")[0]
