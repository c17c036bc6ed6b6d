"""Words found only in a post's picture are reported as the image's, by `wirewatch match` and
in drafts, never as the post's own words."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.drafting.html import plain
from bot.drafting.image import image_runs
from bot.matching import analyze, match_rule, parse_rule
from storage.records import Post
from storage.store import Store


async def _seed(db: Path) -> None:
    store = await Store.open(db)
    try:
        src = await store.sources.ensure("gen_staff")
        post = Post(channel="gen_staff", message_id=5, date=datetime(2026, 3, 2, tzinfo=UTC))
        post_id = await store.posts.insert(src.id, post, "", "")
        text = "Уночі знешкоджено 52 ударні безпілотники"
        a = analyze(text)
        await store.posts.set_ocr(post_id, text, a.norm, a.lemma_text)
    finally:
        await store.close()


def test_match_report_says_the_words_were_in_the_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    asyncio.run(_seed(db))
    assert main(["match", "безпілотник", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/gen_staff/5" in out and "in the image: " in out
    assert "[безпілотники]" in out
    assert main(["match", "безпілотник", "--db", str(db), "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)["posts"]
    assert hit["in_image"] is True and hit["spans"][0]["text"] == "безпілотники"


def test_image_line_quotes_the_picture_not_the_official() -> None:
    text = "Графік на завтра. Світло вимикатимуть з 18:00 до 22:00 у трьох районах."
    m = match_rule(parse_rule("світло"), analyze(text), "")
    assert m is not None
    en = plain(image_runs(text, m.spans, "en"))
    uk = plain(image_runs(text, m.spans, "uk"))
    assert en.startswith("The image reads: ") and "18:00" in en
    assert uk.startswith("На зображенні написано: «Світло вимикатимуть")
    assert image_runs("", (), "uk") == []
