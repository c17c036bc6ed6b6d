"""A search that finds nothing says why when the query or the archive explains it: a term both
searched and left out, until: before the archive's first post, since: after its newest, a
channel with no posts. In the reader's language, in the bot and the CLI. Texts written for
these tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli.main import main
from bot.desk.nothing_found import (
    BOTH_WAYS_CHANNEL,
    BOTH_WAYS_WORD,
    NO_POSTS_CHANNEL,
    SINCE_AFTER_ARCHIVE,
    SINCE_AFTER_CHANNEL,
    UNTIL_BEFORE_ARCHIVE,
    UNTIL_BEFORE_CHANNEL,
    nothing_found_hints,
)
from bot.desk.search import search_posts
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from storage.store import Store
from tests.handlers.harness import JOURNALIST, running_desk

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2025, 11, 3, 9, tzinfo=UTC)
NOW = datetime(2025, 12, 20, 12, tzinfo=UTC)
POSTS = [
    ("mod_press", "Обмін полоненими відбувся на кордоні."),  # 4 November
    ("polon_hq", "Координаційний штаб готує наступний обмін."),  # 5 November
    ("mod_press", "Міністр провів нараду щодо закупівель."),  # 6 November
]


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    pipeline = Pipeline(st, alert=False)
    await st.sources.ensure("quiet_channel")  # followed, nothing stored yet
    for i, (channel, text) in enumerate(POSTS, start=1):
        await st.sources.ensure(channel)
        await pipeline.handle(
            Post(channel=channel, message_id=i, date=START + timedelta(days=i), text=text)
        )
    try:
        yield st
    finally:
        await st.close()


@pytest.mark.parametrize(
    ("query", "hints"),
    [
        (
            "обмін until:2020-01-01",
            [(UNTIL_BEFORE_ARCHIVE, {"until": "2020-01-01", "first": "2025-11-04"})],
        ),
        (
            "обмін until:04.11.2025 from:@polon_hq",
            [
                (
                    UNTIL_BEFORE_CHANNEL,
                    {"until": "2025-11-04", "first": "2025-11-05", "channel": "@polon_hq"},
                )
            ],
        ),
        (
            "from:@mod_press -from:@mod_press",
            [(BOTH_WAYS_CHANNEL, {"channel": "@mod_press"})],
        ),
        (
            "обмін від:@polon_hq від:@mod_press -від:@mod_press -from:@polon_hq",
            [(BOTH_WAYS_CHANNEL, {"channel": "@mod_press, @polon_hq"})],
        ),
        ("обмін -обмін", [(BOTH_WAYS_WORD, {"word": "обмін"})]),
        (
            "обмін since:2025-12-01",
            [(SINCE_AFTER_ARCHIVE, {"since": "2025-12-01", "newest": "2025-11-06 11:00"})],
        ),
        (
            "нарада since:06.11.2025 from:@polon_hq",
            [
                (
                    SINCE_AFTER_CHANNEL,
                    {"since": "2025-11-06", "newest": "2025-11-05 11:00", "channel": "@polon_hq"},
                )
            ],
        ),
        ("from:@quiet_channel", [(NO_POSTS_CHANNEL, {"channel": "@quiet_channel"})]),
        # Nothing found, and nothing in the query or the archive to say why: no hint.
        ("Сибіга since:2025-11-01 until:2025-11-30", []),
        ("нарада from:@polon_hq until:2025-11-06", []),
    ],
)
async def test_a_search_that_found_nothing_says_why(
    store: Store, query: str, hints: list[tuple[str, dict[str, object]]]
) -> None:
    """`until:` before the first post and `from:@a -from:@a` found nothing and said only
    "No posts found.", as if the archive held nothing on the subject."""
    page = await search_posts(store, query, zone=KYIV)
    assert page.hits == []
    found = await nothing_found_hints(store, query, KYIV, now=NOW)
    assert [(h.msgid, h.params) for h in found] == hints


async def test_the_cli_says_why_too(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(getattr(store.db, "path", "") or store.db.url)  # type: ignore[attr-defined]
    argv = ["search", "обмін", "--until", "2020-01-01", "--source", "@mod_press", "--db", db]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "no posts found" in out
    assert "hint: until: 2020-01-01 ends before the first post of @mod_press" in out
    # A filter typed wrong is named under what it found, too.
    assert await asyncio.to_thread(main, ["search", "-frm:@mod_press", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "@mod_press" in out.split("hint:")[0]
    assert "hint: '-frm:@mod_press' is searched as words, not as a filter" in out


@pytest.mark.parametrize("lang", ["uk", "ru", "en"])
async def test_the_bot_says_why_in_the_readers_language(tmp_path: Path, lang: str) -> None:
    """The harness's archive starts on 3 December 2025 (tests/handlers/harness.py)."""
    tr = translator(lang)
    async with running_desk(tmp_path, lang=lang) as desk:
        [reply] = await desk.ask(JOURNALIST, "/search енергетики until:2024-05-01")
        assert tr.gettext("No posts found.") in (reply.text or "")
        assert "💡 " + tr.gettext(
            UNTIL_BEFORE_ARCHIVE, until="2024-05-01", first="2025-12-03"
        ) in (reply.text or "")
        [reply] = await desk.ask(
            JOURNALIST, "/search from:@border_service_demo -from:@border_service_demo"
        )
        assert "💡 " + tr.gettext(BOTH_WAYS_CHANNEL, channel="@border_service_demo") in (
            reply.text or ""
        )
