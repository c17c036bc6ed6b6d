"""A picture swapped under the same caption, as the journalist's phone shows it: the follow-up
("the image now reads «…»") carries the new picture, replying to their earlier alert, with the
`new` alert's fallbacks (the file gone from disk, Telegram refusing the photo, a caption too
long). End to end: Telethon's own update handling (tests/telethon_seam.py), the download,
Tesseract, the pipeline, SQLite, and the notifier over real HTTP to the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.delivery.notifier import Notifier
from bot.delivery.payload import CAPTION_LIMIT, caption_length
from bot.ingest.ocr import OcrEngine
from bot.matching import parse_rule, rule_to_json
from bot.settings import BotSettings
from storage.store import Store
from tests.e2e.test_capture_e2e import World
from tests.fakebot import FakeBotAPI, Message, fakebot
from tests.imaging import needs_ocr, text_image

__all__ = ["fakebot"]

CAPTION = "Оголошено примусову евакуацію з трьох прикордонних громад."
# One sentence the draft quotes whole: with the update's header over Telegram's 1,024-character
# caption, so the draft cannot ride under the photo.
LONG = (
    "Оголошено примусову евакуацію з громад "
    + ", ".join(f"Громада {n} (збір біля школи {n})" for n in range(28))
    + "."
)
USER = 5001


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "wirewatch.db")
    yield s
    await s.close()


@dataclass
class Swap:
    world: World
    notifier: Notifier
    before: bytes  # the picture the journalist was alerted with
    after: bytes  # the one the official put in its place
    alert: Message  # the first message of their alert, as their phone shows it
    seen: int  # messages on their phone before the follow-up


@asynccontextmanager
async def swap(
    store: Store, tmp_path: Path, api: FakeBotAPI, caption: str = CAPTION
) -> AsyncIterator[Swap]:
    """The journalist is alerted to a post with a picture; the official swaps the picture and
    leaves the caption. Yields before the follow-up is delivered."""
    await store.people.add(role="journalist", user_id=USER, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    first = text_image(tmp_path / "a.png", ["Пункти збору:", "школа номер 3, стадіон"])
    second = text_image(tmp_path / "b.png", ["Евакуація триває", "до неділі включно"])
    world = World(store, tmp_path, OcrEngine())
    settings = BotSettings(token=api.token, api_url=api.url, global_rate=1000.0, chat_interval=0.0)
    notifier = Notifier(store, api.bot(), settings, media=world.folder)
    try:
        await world.start()
        await world.publish(2, caption, media=world.fake.photo(first.read_bytes()))
        await world.settle()
        assert await notifier.drain_once() == 1
        (alert, *_) = api.sent_messages(USER)
        assert alert.photo is not None and alert.photo.data == first.read_bytes()
        await world.client.dispatch(
            world.fake.edit_update(
                world.channel, 2, caption, media=world.fake.photo(second.read_bytes())
            )
        )
        await world.settle()
        yield Swap(
            world,
            notifier,
            first.read_bytes(),
            second.read_bytes(),
            alert,
            len(api.sent_messages(USER)),
        )
    finally:
        await world.close()


def after_alert(api: FakeBotAPI, s: Swap) -> list[Message]:
    return api.sent_messages(USER)[s.seen :]


async def follow_up_row(store: Store) -> tuple[str, int | None]:
    row = await store.db.fetchone(
        "SELECT status, tg_message_id FROM alerts WHERE kind = 'edit' ORDER BY id DESC"
    )
    assert row is not None
    return row[0], row[1]


@needs_ocr
async def test_the_follow_up_of_a_swapped_picture_shows_the_new_picture(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    async with swap(store, tmp_path, fakebot) as s:
        assert await s.notifier.drain_once() == 1
        (update,) = after_alert(fakebot, s)
        # The picture the words are about, under them, in the thread of the first alert.
        assert update.photo is not None and update.photo.data == s.after
        assert update.caption is not None and "На зображенні написано: «" in update.caption
        assert "Евакуація триває" in update.caption
        assert update.reply_to == s.alert.message_id
        assert update.reply_markup is not None  # the draft's buttons came along
        assert await follow_up_row(store) == ("sent", update.message_id)


@needs_ocr
async def test_a_swapped_picture_gone_from_disk_still_sends_the_follow_up(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    async with swap(store, tmp_path, fakebot) as s:
        post = await store.posts.get_by_link("gen_staff", 2)
        assert post is not None
        for pf in await store.media.of_post(post.id, up_only=True):
            s.world.folder.path(pf.file).unlink()  # retention, or an operator, removed it
        assert await s.notifier.drain_once() == 1
        (update,) = after_alert(fakebot, s)
        assert update.photo is None and update.text is not None
        assert "Евакуація триває" in update.text and update.reply_to == s.alert.message_id


@needs_ocr
async def test_a_swapped_picture_telegram_refuses_still_sends_the_follow_up(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    async with swap(store, tmp_path, fakebot) as s:
        fakebot.fail(
            "sendPhoto", chat_id=USER, status=400, description="Bad Request: IMAGE_PROCESS_FAILED"
        )
        assert await s.notifier.drain_once() == 1
        (update,) = after_alert(fakebot, s)
        assert update.photo is None and update.text is not None
        assert "Евакуація триває" in update.text and update.reply_to == s.alert.message_id
        assert await follow_up_row(store) == ("sent", update.message_id)


@needs_ocr
async def test_a_long_follow_up_goes_after_the_swapped_picture(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    async with swap(store, tmp_path, fakebot, caption=LONG) as s:
        assert await s.notifier.drain_once() == 1
        photo, text, *rest = after_alert(fakebot, s)
        assert photo.photo is not None and photo.photo.data == s.after and photo.caption is None
        assert photo.reply_to == s.alert.message_id
        assert text.text is not None and "Евакуація триває" in text.text
        assert caption_length(text.text) > CAPTION_LIMIT
        assert text.reply_to == photo.message_id and text.reply_markup is not None
        assert all(m.reply_to == photo.message_id for m in rest)
        assert await follow_up_row(store) == ("sent", photo.message_id)


@needs_ocr
async def test_the_follow_up_of_an_albums_swapped_picture_shows_that_picture(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    # The album's first photo stays; its second is replaced: the follow-up shows the new
    # second one, not the first the journalist has already seen.
    await store.people.add(role="journalist", user_id=USER, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    kept = text_image(tmp_path / "k.png", ["Карта громад"])
    before = text_image(tmp_path / "a.png", ["Пункти збору:", "школа номер 3, стадіон"])
    after = text_image(tmp_path / "b.png", ["Евакуація триває", "до неділі включно"])
    world = World(store, tmp_path, OcrEngine())
    settings = BotSettings(
        token=fakebot.token, api_url=fakebot.url, global_rate=1000.0, chat_interval=0.0
    )
    notifier = Notifier(store, fakebot.bot(), settings, media=world.folder)
    album = 7_000_000_321
    try:
        await world.start()
        for mid, image in ((2, kept), (3, before)):
            msg = world.fake.message(
                world.channel,
                mid,
                CAPTION if mid == 2 else "",
                media=world.fake.photo(image.read_bytes()),
                grouped_id=album,
            )
            await world.client.dispatch(world.fake.new_update(world.channel, msg))
        await world.settle()
        assert await notifier.drain_once() == 1
        seen = len(fakebot.sent_messages(USER))
        await world.client.dispatch(
            world.fake.edit_update(
                world.channel, 3, "", media=world.fake.photo(after.read_bytes())
            )
        )
        await world.settle()
        assert await notifier.drain_once() == 1
    finally:
        await world.close()
    (update,) = fakebot.sent_messages(USER)[seen:]
    assert update.photo is not None and update.photo.data == after.read_bytes()
    assert update.caption is not None and "Евакуація триває" in update.caption
