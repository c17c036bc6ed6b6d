"""Alerts with the picture: sendPhoto over real HTTP to the fake Bot API, which checks the upload
is an image and the caption fits, as Telegram does."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.delivery.notifier import Notifier
from bot.delivery.payload import CAPTION_LIMIT, caption_length
from bot.ingest.pipeline import Pipeline
from bot.settings import BotSettings
from storage.media import MediaFolder
from storage.records import Deletion, Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]
MB = 1 << 20


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    st = await Store.open(tmp_path / "db.sqlite")
    yield st
    await st.close()


def png(width: int = 320, height: int = 200, shade: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def draft(text: str) -> dict[str, Any]:
    return {
        "messages": [
            {"html": text, "buttons": [[{"text": "Повністю", "callback_data": "full:1"}]]}
        ],
        "plain": text,
    }


async def setup(
    store: Store, tmp_path: Path, photo: bytes | None, body: dict[str, Any]
) -> tuple[MediaFolder, int]:
    folder = MediaFolder(store.media, tmp_path / "media", cap_bytes=50 * MB, max_file_bytes=MB)
    src = await store.sources.ensure("gen_staff")
    person = await store.people.add(role="journalist", user_id=5001)
    post = Post(channel="gen_staff", message_id=7, date=datetime(2026, 3, 2, tzinfo=UTC))
    post_id = await store.posts.insert(src.id, post, "", "")
    if photo is not None:
        kept = await folder.put_bytes(photo, "photo.png", "photo")
        await store.media.attach(post_id, 7, kept.sha256)
    alert_id = await store.alerts.enqueue(
        person_id=person.id, post_id=post_id, kind="new", version=1, payload=body
    )
    assert alert_id is not None
    return folder, alert_id


def notifier(store: Store, api: FakeBotAPI, folder: MediaFolder, **extra: Any) -> Notifier:
    settings = BotSettings(
        token=api.token, api_url=api.url, global_rate=1000.0, chat_interval=0.0, **extra
    )
    return Notifier(store, api.bot(), settings, media=folder)


async def test_draft_rides_as_the_caption_when_it_fits(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    photo = png()
    folder, alert_id = await setup(
        store, tmp_path, photo, draft("<b>Генштаб</b> повідомив у Telegram &amp; фото.")
    )
    assert await notifier(store, fakebot, folder).drain_once() == 1
    calls = fakebot.calls("sendPhoto", ok=True)
    assert len(calls) == 1 and not fakebot.calls("sendMessage")
    (msg,) = fakebot.sent_messages(5001)
    assert msg.photo is not None and msg.photo.data == photo
    assert msg.caption == "Генштаб повідомив у Telegram & фото."
    assert msg.reply_markup is not None  # the buttons came along
    sent = await store.alerts.get(alert_id)
    assert sent is not None and sent.status == "sent" and sent.tg_message_id == msg.message_id


async def test_long_draft_follows_the_photo(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    long = "Заява. " * 200  # 1,400 characters: over the caption limit, within a message
    assert caption_length(long) > CAPTION_LIMIT
    folder, _ = await setup(store, tmp_path, png(), draft(long))
    assert await notifier(store, fakebot, folder).drain_once() == 1
    first, second = fakebot.sent_messages(5001)
    assert first.photo is not None and first.caption is None and first.reply_markup is None
    assert second.text == long.strip() or second.text == long
    assert second.reply_markup is not None and second.reply_to == first.message_id


async def test_setting_turns_the_photo_off(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    folder, _ = await setup(store, tmp_path, png(), draft("Без фото."))
    assert await notifier(store, fakebot, folder, alert_photos=False).drain_once() == 1
    assert not fakebot.calls("sendPhoto")
    assert [m.text for m in fakebot.sent_messages(5001)] == ["Без фото."]


async def test_a_photo_telegram_refuses_does_not_lose_the_alert(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    # A 30:1 strip: Telegram answers PHOTO_INVALID_DIMENSIONS.
    folder, alert_id = await setup(store, tmp_path, png(3000, 100), draft("Текст лишається."))
    assert await notifier(store, fakebot, folder).drain_once() == 1
    assert [r.status for r in fakebot.calls("sendPhoto")] == [400]
    assert [m.text for m in fakebot.sent_messages(5001)] == ["Текст лишається."]
    sent = await store.alerts.get(alert_id)
    assert sent is not None and sent.status == "sent"


async def test_fake_refuses_what_is_not_an_image(fakebot: FakeBotAPI) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.types import BufferedInputFile

    bot = fakebot.bot()
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(5001, BufferedInputFile(b"not a picture", "x.jpg"))
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(5001, BufferedInputFile(png(), "x.png"), caption="я" * 1025)
    ok = await bot.send_photo(5001, BufferedInputFile(png(), "x.png"), caption="я" * 1024)
    assert ok.photo is not None and ok.photo[0].width == 320
    await bot.session.close()


async def test_an_albums_deleted_photo_is_not_the_one_sent(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    """The channel deleted the album's first photo and kept the others: an alert about the album
    shows one the channel still shows."""
    pipe = Pipeline(store)
    shot = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for mid in (20, 21):
        text = "Наслідки обстрілу." if mid == 20 else ""
        await pipe.handle(Post("gen_staff", mid, shot, text, media="photo", grouped_id=77))
    stored = await store.posts.get_by_link("gen_staff", 20)
    assert stored is not None
    folder = MediaFolder(store.media, tmp_path / "media", cap_bytes=50 * MB, max_file_bytes=MB)
    first, second = png(shade=10), png(shade=200)
    for mid, data in ((20, first), (21, second)):
        kept = await folder.put_bytes(data, f"{mid}.png", "photo")
        await store.media.attach(stored.id, mid, kept.sha256)
    await pipe.handle(Deletion(channel="gen_staff", message_ids=(20,), date=shot))
    person = await store.people.add(role="journalist", user_id=5001)
    await store.alerts.enqueue(
        person_id=person.id, post_id=stored.id, kind="new", version=2, payload=draft("Фото.")
    )
    assert await notifier(store, fakebot, folder).drain_once() == 1
    (msg,) = fakebot.sent_messages(5001)
    assert msg.photo is not None and msg.photo.data == second


async def test_a_photo_alert_to_someone_who_has_not_opened_the_bot_is_held_at_once(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    # "400 chat not found" is about the person, not the picture: the alert was sent again
    # without its photo (and logged as a refused picture) before being held.
    folder, alert_id = await setup(store, tmp_path, png(), draft("Генштаб повідомив у Telegram."))
    fakebot.fail(
        None, chat_id=5001, status=400, description="Bad Request: chat not found", times=None
    )
    assert await notifier(store, fakebot, folder).drain_once() == 0
    row = await store.alerts.get(alert_id)
    assert row is not None and row.status == "held"
    assert [r.method for r in fakebot.requests if r.chat_id == 5001] == ["sendphoto"]
