"""Capture end to end: Telethon's own update handling and downloads (tests/telethon_seam.py),
Tesseract on a picture rendered here, the real pipeline and SQLite, and the alert over real
HTTP to the fake Bot API. Then the evidence trail of a post edited and deleted, verified, and
found out when a stored byte changes."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from telethon import errors, types

from bot.cli.main import main
from bot.delivery.notifier import Notifier
from bot.desk.search import search_posts
from bot.ingest.capture import Capture
from bot.ingest.ocr import OcrEngine
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from bot.settings import BotSettings, JobSettings, TelegramSettings
from sources.telegram.listener import Listener
from sources.telegram.media import MediaFetcher, attach_media
from storage.media import MediaFolder
from storage.store import Store
from tests.fakebot import FakeBotAPI, fakebot
from tests.imaging import needs_ocr, text_image
from tests.telethon_seam import FakeChannel, FakeTelegram, SeamClient

__all__ = ["fakebot"]

STAFF = 1400016
MB = 1 << 20


async def cli(argv: list[str]) -> int:
    """The real `wirewatch` entry point, in a thread of its own (it runs its own loop)."""
    return await asyncio.to_thread(main, argv)


class Sleeps:
    """The listener's clock: FloodWaits recorded, not waited."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class World:
    """A followed channel on the fake Telegram, our listener with capture, the outbox."""

    def __init__(self, store: Store, tmp: Path, ocr: OcrEngine | None) -> None:
        self.store = store
        self.fake = FakeTelegram()
        self.fake.add_channel("gen_staff", STAFF, "Генеральний штаб (тест)")
        self.folder = MediaFolder(store.media, tmp / "media", cap_bytes=50 * MB, max_file_bytes=MB)
        self.capture = Capture(store, self.folder, ocr)
        self.pipeline = Pipeline(store, capture=self.capture)
        self.sleeps = Sleeps()
        self.client = SeamClient(self.fake)
        self.listener = Listener(
            self.client,
            store,
            self.pipeline.handle,
            TelegramSettings(request_pause=0.0),
            JobSettings(),
            sleep=self.sleeps,
        )
        self.fetcher: MediaFetcher = attach_media(
            self.listener, self.folder, self.capture.file_kept
        )

    @property
    def channel(self) -> FakeChannel:
        return self.fake.channels[STAFF]

    async def start(self) -> None:
        await self.store.sources.ensure("gen_staff", peer_id=STAFF)
        self.fake.post(self.channel, 1, "Ранкове зведення опубліковано на сайті.")
        await self.client.connect()
        await self.listener.start()  # the first look back: a silent back-fill of post 1

    async def publish(self, message_id: int, text: str, **kw: Any) -> types.Message:
        """The channel posts a new message (FakeTelegram.message's keywords: media,
        entities), and Telegram pushes it to the listener."""
        message = self.fake.message(self.channel, message_id, text, **kw)
        await self.client.dispatch(self.fake.new_update(self.channel, message))
        return message

    async def settle(self) -> None:
        """Wait for what runs in the background: downloads, then OCR."""
        await asyncio.wait_for(self.fetcher.join(), timeout=60)
        await asyncio.wait_for(self.capture.join(), timeout=120)

    async def close(self) -> None:
        await self.fetcher.close()
        await self.capture.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "wirewatch.db")
    yield s
    await s.close()


@needs_ocr
async def test_photo_only_post_matches_is_found_and_the_alert_carries_the_photo(
    store: Store, tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    await store.people.add(role="journalist", user_id=5001, lang="uk")
    await store.rules.add("безпілотники", rule_to_json(parse_rule("безпілотники")))
    picture = text_image(
        tmp_path / "daily.png",
        ["Протягом ночі сили ППО", "знешкодили 38 безпілотників", "над Сумщиною"],
    ).read_bytes()
    world = World(store, tmp_path, OcrEngine())
    try:
        await world.start()
        # Telegram asks for a pause on the download: waited out through the listener's gate.
        message = world.fake.message(world.channel, 2, "", media=world.fake.photo(picture))
        world.fake.flood(7)
        await world.client.dispatch(world.fake.new_update(world.channel, message))
        await world.settle()
    finally:
        await world.close()
    assert 7 in world.sleeps.calls

    post = await store.posts.get_by_link("gen_staff", 2)
    assert post is not None and post.text == "" and post.media == "photo"
    assert "38" in post.ocr_text and "безпілотник" in post.ocr_text.lower()
    (kept,) = await store.media.of_post(post.id)
    assert world.folder.path(kept.file).read_bytes() == picture

    page = await search_posts(store, "безпілотник", zone=ZoneInfo("Europe/Kyiv"))
    assert [(h.post.message_id, h.in_image) for h in page.hits] == [(2, True)]

    notifier = Notifier(
        store,
        fakebot.bot(),
        BotSettings(token=fakebot.token, api_url=fakebot.url, global_rate=1000.0),
        media=world.folder,
    )
    assert await notifier.drain_once() == 1
    (sent,) = fakebot.sent_messages(5001)
    assert sent.photo is not None and sent.photo.data == picture
    assert sent.caption is not None
    lead = sent.caption.splitlines()[0]
    # Nothing from the picture is put in the General Staff's mouth...
    assert lead.endswith("опублікували фото.") and "38" not in lead
    # ...it is reported as what the image reads.
    assert "На зображенні написано: «" in sent.caption and "38" in sent.caption
    await notifier.bot.session.close()


async def test_expired_file_reference_is_refetched(store: Store, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, "JPEG")
    picture = buf.getvalue()
    world = World(store, tmp_path, None)
    try:
        await world.start()
        message = world.fake.message(world.channel, 2, "Фото дня", media=world.fake.photo(picture))
        update = world.fake.new_update(world.channel, message)
        # Between the update and the download, Telegram renewed the photo's reference.
        world.fake.expire_reference(world.channel, 2)
        await world.client.dispatch(update)
        await world.settle()
    finally:
        await world.close()
    assert world.fetcher.refetched == 1 and world.fetcher.failed == 0
    post = await store.posts.get_by_link("gen_staff", 2)
    assert post is not None
    (kept,) = await store.media.of_post(post.id)
    assert world.folder.path(kept.file).read_bytes() == picture
    kinds = [type(r).__name__ for r in world.fake.requests]
    assert kinds.count("GetFileRequest") == 2 and "GetMessagesRequest" in kinds


async def test_a_file_that_stays_unreachable_loses_the_file_not_the_post(
    store: Store, tmp_path: Path
) -> None:
    world = World(store, tmp_path, None)
    try:
        await world.start()
        message = world.fake.message(world.channel, 2, "Заява", media=world.fake.photo(b"\xff"))
        world.fake.fail(lambda req: errors.FileIdInvalidError(request=req))
        await world.client.dispatch(world.fake.new_update(world.channel, message))
        await world.settle()
    finally:
        await world.close()
    assert world.fetcher.failed == 1 and world.fetcher.last_error is not None
    assert await store.posts.get_by_link("gen_staff", 2) is not None


async def test_evidence_of_an_edited_then_deleted_post(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(store, tmp_path, None)
    db = tmp_path / "wirewatch.db"
    try:
        await world.start()
        ch = world.channel
        first = world.fake.message(ch, 2, "Втрати противника за добу: 1 120 осіб.")
        await world.client.dispatch(world.fake.new_update(ch, first))
        await world.client.dispatch(
            world.fake.edit_update(ch, 2, "Втрати противника за добу: 1 210 осіб.")
        )
        await world.client.dispatch(world.fake.delete_update(ch, 2))
        await world.settle()
    finally:
        await world.close()

    link = "https://t.me/gen_staff/2"
    assert await cli(["evidence", link, "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    records = report["records"]
    assert report["verified"] is True
    assert [(r["kind"], r["version"]) for r in records] == [
        ("version", 1),
        ("version", 2),
        ("deletion", 2),
    ]
    assert all(r["intact"] and r["sha256"] == r["computed_sha256"] for r in records)
    # The raw messages are Telegram's own: the TL objects as JSON.
    first_raw, second_raw, gone = (json.loads(r["raw"]) for r in records)
    assert first_raw["_"] == "Message" and first_raw["message"].endswith("1 120 осіб.")
    assert second_raw["message"].endswith("1 210 осіб.") and second_raw["edit_date"]
    assert gone["_"] == "UpdateDeleteChannelMessages" and gone["messages"] == [2]

    assert await cli(["evidence", link, "--db", str(db), "--export", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "#1  version 1" in text and "#3  deletion noticed" in text
    assert "Verified: all 3 records match their SHA-256 hashes." in text
    assert "The archive's copy of 2 versions (what search and drafts quote)" in text
    exported = tmp_path / "out" / "gen_staff-2.evidence"
    assert json.loads(Path(f"{exported}.json").read_text())["verified"] is True
    assert Path(f"{exported}.txt").read_text().strip() == text.strip()

    # The trail refuses rewrites...
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE evidence SET raw = 'x'")
    # ...and someone who goes around that (drops the guard, edits the file) is found out.
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER evidence_no_update")
        (rid, raw) = conn.execute(
            "SELECT id, raw FROM evidence"
            " WHERE message_id = 2 AND version = 2 AND kind = 'version'"
        ).fetchone()
        changed = raw.replace("1 210", "1 200")  # one byte
        assert changed != raw
        conn.execute("UPDATE evidence SET raw = ? WHERE id = ?", (changed, rid))
    assert await cli(["evidence", link, "--db", str(db)]) == 1
    text = capsys.readouterr().out
    assert "VERIFICATION FAILED: record #2 (version 2" in text
    assert "the stored message was changed afterwards" in text
    assert text.count("DOES NOT MATCH") == 1


async def test_evidence_finds_an_archive_copy_changed_after_capture(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(store, tmp_path, None)
    db = tmp_path / "wirewatch.db"
    try:
        await world.start()
        ch = world.channel
        await world.client.dispatch(
            world.fake.new_update(ch, world.fake.message(ch, 2, "Штурмів за добу: 14."))
        )
        await world.client.dispatch(world.fake.edit_update(ch, 2, "Штурмів за добу: 41."))
        await world.settle()
    finally:
        await world.close()
    link = "https://t.me/gen_staff/2"
    assert await cli(["evidence", link, "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [a["matches"] for a in report["archive"]] == [True, True]

    # The evidence is untouched, but the archive's first version (what background quotes) is.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE post_versions SET text = 'Штурмів за добу: 4.' WHERE version = 1")
    assert await cli(["evidence", link, "--db", str(db)]) == 1
    text = capsys.readouterr().out
    assert "VERIFICATION FAILED: the archive's copy of version 1 differs from record #1" in text
    assert "'Штурмів за добу: 4.'" in text and "Verified" not in text
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM post_versions WHERE version = 2")
    assert await cli(["evidence", link, "--db", str(db), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False
    assert [(a["version"], a["archived_text"]) for a in report["archive"]] == [
        (1, "Штурмів за добу: 4."),
        (2, None),
    ]


async def test_evidence_of_an_unknown_post_is_a_clear_error(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "wirewatch.db"
    assert await cli(["evidence", "https://t.me/gen_staff/99", "--db", str(db)]) == 2
    assert "no evidence of https://t.me/gen_staff/99" in capsys.readouterr().err
    assert await cli(["evidence", "not a link", "--db", str(db)]) == 2
    assert "not a post link" in capsys.readouterr().err
