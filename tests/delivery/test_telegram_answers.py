"""What Telegram answers in the middle of an alert, over real HTTP to the fake Bot API, and what
the journalist's phone shows after it: every alert once, readable, in order and in its thread.
A photo alert with a draft over the caption limit is two messages (the photo, the draft
replying to it), the case where a fault between them matters."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.delivery.notifier import Notifier
from bot.delivery.payload import CAPTION_LIMIT, caption_length
from bot.settings import BotSettings
from storage.media import MediaFolder
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, Message, fakebot

__all__ = ["fakebot"]
MB = 1 << 20
USER = 5001
LONG = "<b>Генштаб</b> повідомив &amp; уточнив: " + "евакуація триває, " * 80 + "кінець."


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (90, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def body(html: str) -> dict[str, Any]:
    button = [[{"text": "Повністю", "callback_data": "full:1"}]]
    return {"messages": [{"html": html, "buttons": button}], "plain": html}


class Desk:
    """One journalist, one post with a kept photo, the outbox."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        self.store = store
        self.folder = MediaFolder(
            store.media, tmp_path / "media", cap_bytes=50 * MB, max_file_bytes=MB
        )
        self.person_id = 0
        self.post_id = 0
        self.photo = png()

    async def setup(self) -> Desk:
        from datetime import UTC, datetime

        src = await self.store.sources.ensure("gen_staff")
        self.person_id = (await self.store.people.add(role="journalist", user_id=USER)).id
        post = Post(channel="gen_staff", message_id=7, date=datetime(2026, 3, 2, tzinfo=UTC))
        self.post_id = await self.store.posts.insert(src.id, post, "", "")
        kept = await self.folder.put_bytes(self.photo, "photo.png", "photo")
        await self.store.media.attach(self.post_id, 7, kept.sha256)
        return self

    async def alert(
        self, html: str, *, kind: str = "new", version: int = 1, reply_to: int | None = None
    ) -> int:
        alert_id = await self.store.alerts.enqueue(
            person_id=self.person_id,
            post_id=self.post_id,
            kind=kind,
            version=version,
            payload=body(html),
            reply_to_alert=reply_to,
        )
        assert alert_id is not None
        return alert_id

    def notifier(self, api: FakeBotAPI, **extra: Any) -> Notifier:
        values: dict[str, Any] = {
            "token": api.token,
            "api_url": api.url,
            "global_rate": 1000.0,
            "chat_interval": 0.0,
            "retry_after_max": 1,
        }
        values.update(extra)
        return Notifier(
            self.store, api.bot(), BotSettings(**values), media=self.folder, backoff_base=0.01
        )

    async def row(self, alert_id: int) -> tuple[str, int | None]:
        got = await self.store.alerts.get(alert_id)
        assert got is not None
        return got.status, got.tg_message_id


def phone(api: FakeBotAPI) -> list[Message]:
    return api.sent_messages(USER)


async def drain_until_sent(desk: Desk, n: Notifier, alert_id: int, tries: int = 50) -> None:
    import asyncio

    for _ in range(tries):
        await n.drain_once()
        if (await desk.row(alert_id))[0] != "pending":
            return
        await asyncio.sleep(0.1)


async def test_429_on_the_photo_then_on_its_text_sends_each_once(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    assert caption_length(LONG) > CAPTION_LIMIT
    alert_id = await desk.alert(LONG)
    fakebot.flood(1, method="sendPhoto", chat_id=USER)
    fakebot.flood(1, method="sendMessage", chat_id=USER)
    await drain_until_sent(desk, desk.notifier(fakebot), alert_id)
    photo, text = phone(fakebot)
    assert photo.photo is not None and photo.photo.data == desk.photo
    assert text.text is not None and text.text.startswith("Генштаб повідомив & уточнив")
    assert text.reply_to == photo.message_id and text.reply_markup is not None
    assert await desk.row(alert_id) == ("sent", photo.message_id)


async def test_a_follow_up_to_an_alert_the_journalist_deleted_arrives_unthreaded(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    original = await desk.alert("Перша звістка.")
    n = desk.notifier(fakebot)
    assert await n.drain_once() == 1
    fakebot.chats[USER].clear()  # the journalist deleted the alert from their chat
    edit = await desk.alert("✏️ Оновлено.", kind="edit", version=2, reply_to=original)
    # Telegram, even asked to send without the reply, answers that it has nothing to reply to.
    fakebot.fail(
        "sendMessage",
        chat_id=USER,
        status=400,
        description="Bad Request: message to be replied not found",
    )
    assert await n.drain_once() == 1
    (update,) = phone(fakebot)
    assert update.text == "✏️ Оновлено." and update.reply_to is None
    assert await desk.row(edit) == ("sent", update.message_id)


async def test_a_caption_telegram_finds_too_long_goes_after_the_photo(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert("<b>Генштаб</b> повідомив.")
    # Telegram counts what we measured as fitting as over the limit (its count changed, an
    # entity we cannot see): the picture need not be lost for it.
    fakebot.fail(
        "sendPhoto",
        chat_id=USER,
        status=400,
        description="Bad Request: message caption is too long",
    )
    assert await desk.notifier(fakebot).drain_once() == 1
    photo, text = phone(fakebot)
    assert photo.photo is not None and photo.caption is None
    assert text.text == "Генштаб повідомив." and text.reply_to == photo.message_id
    assert text.reply_markup is not None
    assert await desk.row(alert_id) == ("sent", photo.message_id)


async def test_a_502_between_the_photo_and_its_text_repeats_neither(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert(LONG)
    fakebot.server_error("sendMessage", chat_id=USER, status=502)
    await drain_until_sent(desk, desk.notifier(fakebot), alert_id)
    photo, text = phone(fakebot)
    assert photo.photo is not None and text.reply_to == photo.message_id
    assert await desk.row(alert_id) == ("sent", photo.message_id)


async def test_a_caption_telegram_cannot_parse_keeps_the_photo(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert("<b>Генштаб</b> повідомив &amp; уточнив.")
    fakebot.fail(
        "sendPhoto",
        chat_id=USER,
        status=400,
        description="Bad Request: can't parse entities: unsupported start tag at byte offset 0",
    )
    assert await desk.notifier(fakebot).drain_once() == 1
    (photo,) = phone(fakebot)
    assert photo.photo is not None and photo.caption == "Генштаб повідомив & уточнив."
    assert photo.reply_markup is not None
    assert await desk.row(alert_id) == ("sent", photo.message_id)


async def test_a_restart_between_the_photo_and_its_text_sends_the_photo_once(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert(LONG)
    fakebot.server_error("sendMessage", chat_id=USER, status=502)
    first = desk.notifier(fakebot)
    assert await first.drain_once() == 0  # the photo went; the text waits for a retry
    assert len(phone(fakebot)) == 1
    # The service restarts: a new notifier, nothing of the old one's memory.
    await drain_until_sent(desk, desk.notifier(fakebot), alert_id)
    texts = [m for m in phone(fakebot) if m.text]
    photos = [m for m in phone(fakebot) if m.photo is not None]
    assert len(texts) == 1
    assert len(photos) == 1, "the photo came twice"


async def test_a_block_between_the_photo_and_its_text_holds_the_alert_whole(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert(LONG)
    fakebot.fail("sendMessage", chat_id=USER, status=403)  # blocked after the photo arrived
    assert await desk.notifier(fakebot).drain_once() == 0
    # Parked alerts come back as a digest when they unblock: this one starts over there,
    # not as a draft replying to a photo the digest does not show.
    assert await desk.row(alert_id) == ("held", None)


async def test_a_photo_telegram_finds_too_large_costs_the_photo_only(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert("<b>Генштаб</b> повідомив.")
    # Telegram's answer to an upload over its limit is HTTP 413, not a 400.
    fakebot.fail("sendPhoto", chat_id=USER, status=413, description="Request Entity Too Large")
    assert await desk.notifier(fakebot).drain_once() == 1
    (text,) = phone(fakebot)
    assert text.photo is None and text.text == "Генштаб повідомив."
    assert await desk.row(alert_id) == ("sent", text.message_id)


async def test_a_connection_reset_mid_alert_repeats_one_message_at_most(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert(LONG)  # the photo, then the draft replying to it
    # Telegram takes the draft, and the connection drops before its answer: the notifier
    # cannot know the draft arrived.
    fakebot.drop_after_accept("sendMessage", chat_id=USER)
    await drain_until_sent(desk, desk.notifier(fakebot), alert_id)
    photo, *drafts = phone(fakebot)
    assert photo.photo is not None and len(fakebot.photos) == 1
    assert len(drafts) == 2 and drafts[0].text == drafts[1].text  # the one it could not know
    assert all(d.reply_to == photo.message_id for d in drafts)
    assert await desk.row(alert_id) == ("sent", photo.message_id)


async def test_a_stop_while_the_draft_after_a_photo_waits_out_a_429_is_prompt(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    import asyncio

    desk = await Desk(store, tmp_path).setup()
    alert_id = await desk.alert(LONG)
    # A long flood wait on the draft, and the service is told to stop (a deploy): the photo is
    # on record, so the stop need not wait the flood out (the unit's stop timeout would kill
    # it mid-alert) and the restart sends the draft alone.
    fakebot.flood(60, method="sendMessage", chat_id=USER)
    first = desk.notifier(fakebot, retry_after_max=60)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    await fakebot.wait_for(lambda api: any(r.status == 429 for r in api.requests))
    stop.set()
    async with asyncio.timeout(20):  # a third of the flood wait
        await running
    assert await desk.row(alert_id) == ("pending", phone(fakebot)[0].message_id)
    fakebot.clear_faults()
    await drain_until_sent(desk, desk.notifier(fakebot), alert_id)
    photo, text = phone(fakebot)
    assert photo.photo is not None and text.reply_to == photo.message_id
    assert await desk.row(alert_id) == ("sent", photo.message_id)
