"""Edits that leave a post's words alone, end to end through Telethon's own update handling
(tests/telethon_seam.py), downloads, Tesseract, the real pipeline and SQLite: a photo swapped
under the same caption, a link's target changed under the same text, and what must NOT be an
edit: the same photo re-sent with a renewed file reference, a change of reactions and views."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from telethon import types

from bot.delivery.notifier import Notifier
from bot.ingest.ocr import OcrEngine
from bot.matching import parse_rule, rule_to_json
from bot.settings import BotSettings
from storage.models import StoredPost
from storage.store import Store
from tests.e2e.test_capture_e2e import World
from tests.fakebot import FakeBotAPI, fakebot
from tests.imaging import needs_ocr, text_image

__all__ = ["fakebot"]

CAPTION = "Оголошено примусову евакуацію з трьох прикордонних громад."


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "wirewatch.db")
    yield s
    await s.close()


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


async def evidence_of_post_2(store: Store) -> int:
    """How many evidence records post 2 has: one a version."""
    return len(await store.evidence.for_message("gen_staff", 2, None))


async def post_2(store: Store) -> StoredPost:
    post = await store.posts.get_by_link("gen_staff", 2)
    assert post is not None
    return post


def downloads(world: World) -> int:
    return [type(r).__name__ for r in world.fake.requests].count("GetFileRequest")


async def alerts(store: Store) -> list[tuple[str, int, int | None]]:
    rows = await store.db.fetchall("SELECT kind, version, reply_to_alert FROM alerts ORDER BY id")
    return [(r[0], r[1], r[2]) for r in rows]


@needs_ocr
async def test_a_photo_swapped_under_the_same_caption_is_a_version_read_again_and_followed_up(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    await store.people.add(role="journalist", user_id=5001, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    first = text_image(tmp_path / "a.png", ["Пункти збору:", "школа номер 3, стадіон"])
    second = text_image(tmp_path / "b.png", ["Евакуація триває", "до неділі включно"])
    world = World(store, tmp_path, OcrEngine())
    try:
        await world.start()
        message = await world.publish(2, CAPTION, media=world.fake.photo(first.read_bytes()))
        await world.settle()
        assert "стадіон" in (await post_2(store)).ocr_text
        # The official swaps the picture and leaves the caption as it was.
        swapped = world.fake.photo(second.read_bytes())
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 2, CAPTION, media=swapped)
        )
        await world.settle()
    finally:
        await world.close()

    post = await post_2(store)
    assert (post.text, post.version) == (CAPTION, 2)
    # The new picture's text is the post's now; the replaced one's is not.
    assert "неділі" in post.ocr_text and "стадіон" not in post.ocr_text
    (current,) = await store.media.of_post(post.id, up_only=True)
    assert world.folder.path(current.file).read_bytes() == second.read_bytes()
    # Both pictures stay linked to the post: the evidence keeps the replaced one.
    assert len(await store.media.of_post(post.id)) == 2

    # The version and its evidence: the message as Telegram sent it, naming the new photo.
    versions = await store.posts.versions(post.id)
    assert [(v.version, v.text, v.changed) for v in versions] == [
        (1, CAPTION, None),
        (2, CAPTION, frozenset({"media"})),
    ]
    records = await store.evidence.for_message("gen_staff", 2, None)
    assert [(r.kind, r.version) for r in records] == [("version", 1), ("version", 2)]
    raw = json.loads(records[1].raw)
    assert raw["media"]["photo"]["id"] == swapped.photo.id
    assert json.loads(records[0].raw)["media"]["photo"]["id"] == message.media.photo.id

    # The new picture's words match the rule the journalist was alerted by: a follow-up,
    # replying to the alert, that says what the new picture reads.
    (new, follow_up) = await alerts(store)
    assert new[:2] == ("new", 1) and follow_up[:2] == ("edit", 2)
    notifier = Notifier(
        store,
        fakebot.bot(),
        BotSettings(token=fakebot.token, api_url=fakebot.url, global_rate=1000.0),
        media=world.folder,
    )
    assert await notifier.drain_once() == 2
    update = fakebot.sent_messages(5001)[-1]
    # With the new picture itself (tests/delivery/test_followup_picture.py).
    assert update.photo is not None and update.photo.data == second.read_bytes()
    assert update.caption is not None and "На зображенні написано: «" in update.caption
    assert "Евакуація триває" in update.caption
    await notifier.bot.session.close()


@needs_ocr
async def test_a_photo_swapped_back_to_the_one_it_replaced_is_followed_up_without_a_download(
    store: Store, tmp_path: Path
) -> None:
    # The listener keeps the first picture and does not download it again, so nothing read
    # it again either: its words came back to the post and nobody alerted heard of them.
    await store.people.add(role="journalist", user_id=5001, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    first = text_image(tmp_path / "a.png", ["Евакуація триває", "до неділі включно"])
    other = text_image(tmp_path / "b.png", ["Пункти збору:", "школа номер 3"])
    world = World(store, tmp_path, OcrEngine())
    try:
        await world.start()
        message = await world.publish(2, CAPTION, media=world.fake.photo(first.read_bytes()))
        await world.settle()
        swapped = world.fake.photo(other.read_bytes())
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 2, CAPTION, media=swapped)
        )
        await world.settle()
        assert "школа" in (await post_2(store)).ocr_text
        await world.client.dispatch(
            world.fake.edit_update(
                world.channel, 2, CAPTION, media=message.media, later=timedelta(hours=1)
            )
        )
        await world.settle()
    finally:
        await world.close()
    post = await post_2(store)
    assert post.version == 3 and "неділі" in post.ocr_text and "школа" not in post.ocr_text
    assert downloads(world) == 2  # the first picture is not fetched again
    assert [a[:2] for a in await alerts(store)] == [("new", 1), ("edit", 3)]


async def test_a_swapped_picture_that_matches_nothing_is_recorded_and_announced_to_nobody(
    store: Store, tmp_path: Path
) -> None:
    await store.people.add(role="journalist", user_id=5001, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    world = World(store, tmp_path, None)  # OCR off: nothing is read from any picture
    try:
        await world.start()
        await world.publish(2, CAPTION, media=world.fake.photo(jpeg((200, 40, 40))))
        await world.settle()
        await world.client.dispatch(
            world.fake.edit_update(
                world.channel, 2, CAPTION, media=world.fake.photo(jpeg((40, 40, 200)))
            )
        )
        await world.settle()
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.version, await evidence_of_post_2(store)) == (2, 2)
    assert [a[0] for a in await alerts(store)] == ["new"]
    assert downloads(world) == 2


async def test_the_same_photo_re_sent_with_a_new_reference_or_new_reactions_is_no_edit(
    store: Store, tmp_path: Path
) -> None:
    world = World(store, tmp_path, None)
    try:
        await world.start()
        message = await world.publish(2, CAPTION, media=world.fake.photo(jpeg((10, 120, 10))))
        await world.settle()
        assert downloads(world) == 1
        # Telegram renews the photo's file reference and sends the message again.
        world.fake.expire_reference(world.channel, 2)
        renewed = world.fake.channels[world.channel.id].messages[2]
        assert isinstance(renewed, types.Message)
        assert renewed.media.photo.file_reference != message.media.photo.file_reference
        await world.client.dispatch(world.fake.resend_update(world.channel, renewed))
        await world.settle()
        # Readers react and the view count grows: Telegram re-sends the message as an edit.
        reacted = world.fake.message(
            world.channel, 2, CAPTION, date=renewed.date, media=renewed.media
        )
        reacted.views = 4812
        reacted.reactions = types.MessageReactions(
            results=[types.ReactionCount(reaction=types.ReactionEmoji("👍"), count=37)]
        )
        await world.client.dispatch(world.fake.resend_update(world.channel, reacted))
        await world.settle()
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.version, await evidence_of_post_2(store)) == (1, 1)
    # The picture we hold is that picture: not downloaded again for each re-send.
    assert downloads(world) == 1 and world.fetcher.skipped == 2
    assert len(await store.media.of_post(post.id)) == 1


async def test_a_link_changed_under_the_same_text_is_a_version_with_its_evidence(
    store: Store, tmp_path: Path
) -> None:
    text = "Повний текст постанови за посиланням."
    at = text.index("посиланням")

    def link(url: str) -> list[types.TypeMessageEntity]:
        return [types.MessageEntityTextUrl(offset=at, length=len("посиланням"), url=url)]

    world = World(store, tmp_path, None)
    try:
        await world.start()
        first = "https://example.gov.ua/decree-114"
        await world.publish(2, text, entities=link(first))
        later = "https://example.gov.ua/decree-114-amended"
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 2, text, entities=link(later))
        )
        # The same edit seen again (a reaction, a re-read): nothing more.
        await world.client.dispatch(
            world.fake.resend_update(
                world.channel, world.fake.channels[world.channel.id].messages[2]
            )
        )
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.text, post.version, post.links) == (text, 2, (later,))
    versions = await store.posts.versions(post.id)
    assert versions[-1].changed == frozenset({"links"})
    records = await store.evidence.for_message("gen_staff", 2, None)
    assert [r.version for r in records] == [1, 2]
    assert later in records[1].raw and first in records[0].raw


async def test_a_text_edit_keeps_the_links_it_brings(store: Store, tmp_path: Path) -> None:
    # The post's links were those of its first version forever: an edit that changed the
    # text and the link under it left the old target in the archive.
    text = "Звернення міністра."
    world = World(store, tmp_path, None)
    try:
        await world.start()
        first = [types.MessageEntityTextUrl(offset=0, length=10, url="https://a.example/1")]
        await world.publish(2, text, entities=first)
        later = [types.MessageEntityTextUrl(offset=0, length=10, url="https://a.example/2")]
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 2, text + " Оновлено.", entities=later)
        )
    finally:
        await world.close()
    post = await post_2(store)
    assert post.version == 2 and post.links == ("https://a.example/2",)
    assert (await store.posts.versions(post.id))[-1].changed == frozenset({"text", "links"})


async def test_reconciliation_finds_a_photo_swapped_while_we_were_away(
    store: Store, tmp_path: Path
) -> None:
    world = World(store, tmp_path, None)
    red, blue = jpeg((200, 40, 40)), jpeg((40, 40, 200))
    try:
        await world.start()
        await world.publish(2, CAPTION, media=world.fake.photo(red))
        await world.settle()
        # Offline: the photo is swapped, and no update reaches us.
        world.fake.edit(world.channel, 2, CAPTION, media=world.fake.photo(blue))
        src = await store.sources.by_username("gen_staff")
        assert src is not None
        result = await world.listener.reconcile(src)
        await world.settle()
        assert result.edited == 1
        # Read again: nothing new.
        assert (await world.listener.reconcile(src)).edited == 0
    finally:
        await world.close()
    post = await post_2(store)
    assert post.version == 2
    (current,) = await store.media.of_post(post.id, up_only=True)
    assert world.folder.path(current.file).read_bytes() == blue


async def test_a_photo_of_an_album_swapped_is_a_version_of_the_album(
    store: Store, tmp_path: Path
) -> None:
    world = World(store, tmp_path, None)
    colours = [jpeg((200, 0, 0)), jpeg((0, 200, 0)), jpeg((0, 0, 200))]
    album = 7_000_000_123
    try:
        await world.start()
        for mid, data in zip((2, 3, 4), colours, strict=True):
            text = CAPTION if mid == 2 else ""
            msg = world.fake.message(
                world.channel, mid, text, media=world.fake.photo(data), grouped_id=album
            )
            await world.client.dispatch(world.fake.new_update(world.channel, msg))
        await world.settle()
        # The second photo (no caption of its own) is replaced.
        yellow = jpeg((220, 220, 0))
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 3, "", media=world.fake.photo(yellow))
        )
        await world.settle()
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.text, post.version) == (CAPTION, 2)
    shown = [
        world.folder.path(pf.file).read_bytes()
        for pf in await store.media.of_post(post.id, up_only=True)
    ]
    assert shown == [colours[0], yellow, colours[2]]
    records = await store.evidence.for_message("gen_staff", 2, None)
    assert [r.version for r in records] == [1, 2]
    assert json.loads(records[1].raw)["id"] == 3  # the message that changed, as it came


def preview(url: str, *, manual: bool) -> types.MessageMediaWebPage:
    page = types.WebPage(id=zlib.crc32(url.encode()), url=url, display_url=url, hash=0)
    return types.MessageMediaWebPage(webpage=page, manual=manual)


async def test_a_link_preview_attached_apart_from_the_text_is_a_link_and_its_change_an_edit(
    store: Store, tmp_path: Path
) -> None:
    # Telegram lets an official attach a link's preview that is nowhere in the text (a
    # `manual` preview): swapping it changed nothing we kept.
    text = "Рішення уряду щодо тарифів - у прикріпленому документі."
    first, later = "https://gov.example/tariffs-v1", "https://gov.example/tariffs-v2"
    world = World(store, tmp_path, None)
    try:
        await world.start()
        await world.publish(2, text, media=preview(first, manual=True))
        assert (await post_2(store)).links == (first,)
        await world.client.dispatch(
            world.fake.edit_update(world.channel, 2, text, media=preview(later, manual=True))
        )
        # An automatic preview, of a link in the text, is not a link of its own: the official
        # writing one into a post's text is an edit of the text.
        auto = "Деталі: https://gov.example/tariffs-v2"
        shown = world.fake.message(world.channel, 3, auto, media=preview(later, manual=False))
        await world.client.dispatch(world.fake.new_update(world.channel, shown))
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.version, post.links) == (2, (later,))
    assert (await store.posts.versions(post.id))[-1].changed == frozenset({"links"})
    records = await store.evidence.for_message("gen_staff", 2, None)
    assert [r.version for r in records] == [1, 2] and later in records[1].raw
    third = await store.posts.get_by_link("gen_staff", 3)
    assert third is not None and third.links == ()


async def test_formatting_a_pin_and_a_new_channel_photo_are_no_versions(
    store: Store, tmp_path: Path
) -> None:
    world = World(store, tmp_path, None)
    text = "Засідання Ради оборони відбудеться завтра."
    try:
        await world.start()
        message = await world.publish(2, text)
        # Bold added to a word: the words and links are the same.
        bold = [types.MessageEntityBold(offset=0, length=9)]
        await world.client.dispatch(world.fake.edit_update(world.channel, 2, text, entities=bold))
        # The post pinned: Telegram's service message and its pin update.
        pin = types.MessageService(
            id=3,
            peer_id=world.channel.peer,
            date=message.date,
            action=types.MessageActionPinMessage(),
            reply_to=types.MessageReplyHeader(reply_to_msg_id=2),
            post=True,
        )
        await world.client.dispatch(world.fake.new_update(world.channel, pin))
        world.channel.pts += 1
        await world.client.dispatch(
            types.UpdatePinnedChannelMessages(
                channel_id=world.channel.id,
                messages=[2],
                pts=world.channel.pts,
                pts_count=1,
                pinned=True,
            )
        )
        # The channel's picture changed: a service message too.
        photo = types.MessageService(
            id=4,
            peer_id=world.channel.peer,
            date=message.date,
            action=types.MessageActionChatEditPhoto(photo=world.fake.photo(jpeg((1, 2, 3))).photo),
            post=True,
        )
        await world.client.dispatch(world.fake.new_update(world.channel, photo))
        await world.settle()
    finally:
        await world.close()
    post = await post_2(store)
    assert (post.version, await evidence_of_post_2(store)) == (1, 1)
    count = await store.db.fetchone("SELECT COUNT(*) FROM posts")
    assert count is not None and count[0] == 2  # post 1 (the first look back) and post 2
