"""Capture: a post's picture kept in the media folder, its text read (Tesseract) after the post
is stored, matched and searched as the image's words, never as the official's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk.search import search_posts
from bot.ingest.capture import Capture
from bot.ingest.ocr import OcrEngine, tidy
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.media import MediaFolder
from storage.records import Post
from storage.store import Store
from tests.imaging import needs_ocr, text_image

T0 = datetime(2026, 3, 2, 7, 15, tzinfo=UTC)
MB = 1 << 20


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


def folder(store: Store, tmp_path: Path, cap: int = 50 * MB) -> MediaFolder:
    return MediaFolder(store.media, tmp_path / "media", cap_bytes=cap, max_file_bytes=20 * MB)


async def add_rule(store: Store, query: str) -> None:
    await store.rules.add(query, rule_to_json(parse_rule(query)))


def test_tidy_joins_wrapped_lines_into_paragraphs() -> None:
    raw = "Збито 47\nбезпілотників\n\n  Генштаб  ЗСУ \n\f"
    assert tidy(raw) == "Збито 47 безпілотників\nГенштаб ЗСУ"


@needs_ocr
async def test_photo_only_post_matches_on_words_in_the_image(store: Store, tmp_path: Path) -> None:
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "безпілотники")
    image = text_image(
        tmp_path / "daily.png",
        ["Протягом ночі сили ППО", "знешкодили 47 безпілотників", "над Полтавщиною"],
    )
    capture = Capture(store, folder(store, tmp_path), OcrEngine())
    pipe = Pipeline(store, capture=capture)
    try:
        res = await pipe.handle(
            Post(
                channel="gen_staff",
                message_id=310,
                date=T0,
                media="photo",
                media_path=str(image),
                origin="export",
            )
        )
        # The post itself is stored at once; nothing in its (empty) text matched.
        assert (res.stored, res.alerts) == (1, 0)
        await asyncio.wait_for(capture.join(), timeout=120)
    finally:
        await capture.close()

    stored = await store.posts.get_by_link("gen_staff", 310)
    assert stored is not None
    assert stored.text == ""
    assert "47" in stored.ocr_text and "безпілотник" in stored.ocr_text.lower()
    files = await store.media.of_post(stored.id)
    assert [f.file.kind for f in files] == ["photo"]

    alerts = await store.alerts.for_person(jo.id)
    assert [a.kind for a in alerts] == ["new"]
    plain = alerts[0].payload["plain"]
    first_line = plain.splitlines()[0]
    # The lead has no quote: the picture's words are not the official's.
    assert first_line.endswith(".") and "«" not in first_line
    assert "На зображенні написано: «" in plain and "47" in plain

    page = await search_posts(store, "безпілотник", zone=ZoneInfo("Europe/Kyiv"))
    assert [(h.post.message_id, h.in_image) for h in page.hits] == [(310, True)]
    assert "47" in page.hits[0].text


class GatedOcr(OcrEngine):
    """The real engine, started only when the test opens the gate: OCR that takes as long as
    the test needs, without a clock."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()

    def read(self, path: Path) -> str:
        self.started.set()
        assert self.gate.wait(timeout=120)
        return super().read(path)


@needs_ocr
async def test_text_post_is_not_held_up_by_ocr(store: Store, tmp_path: Path) -> None:
    """While a photo is being read, the next text post is stored and alerted."""
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "енергетика")
    image = text_image(tmp_path / "plan.png", ["Графік відключень на завтра"])
    ocr = GatedOcr()
    capture = Capture(store, folder(store, tmp_path), ocr)
    pipe = Pipeline(store, capture=capture)
    try:
        await pipe.handle(
            Post(channel="energy_min", message_id=1, date=T0, media="photo", media_path=str(image))
        )
        assert await asyncio.to_thread(ocr.started.wait, 60)  # the worker is inside OCR now
        res = await pipe.handle(
            Post(channel="energy_min", message_id=2, date=T0, text="Енергетика стабільна.")
        )
        assert (res.stored, res.alerts) == (1, 1)
        assert len(await store.alerts.for_person(jo.id)) == 1
        ocr.gate.set()
        await asyncio.wait_for(capture.join(), timeout=120)
    finally:
        ocr.gate.set()
        await capture.close()
    stored = await store.posts.get_by_link("energy_min", 1)
    assert stored is not None and "відключень" in stored.ocr_text


@needs_ocr
def test_a_word_the_page_broke_at_a_line_end_is_read_whole(tmp_path: Path) -> None:
    # Tesseract keeps a photographed document's hyphenation: its text read "госпі- талів" and
    # "восста- новить", the draft quoted it so and a rule for госпіталь never matched.
    image = text_image(
        tmp_path / "order.png",
        [
            "Уряд виділив кошти на ремонт госпі-",
            "талів і новий військово-",
            "морський госпіталь в Івано-",
            "Франківську. Министерство обещает восста-",
            "новить больницы. The ministry will rebuild hospi-",
            "tals and a state-",
            "owned clinic.",
        ],
    )
    text = OcrEngine().read(image)
    for whole in (
        "госпіталів",
        "військово-морський",
        "Івано-Франківську",
        "восстановить",
        "hospitals",
        "state-owned",
    ):
        assert whole in text, text
    assert "- " not in text, text
