"""A busy day at the desk, played over real HTTP against the fake Bot API in uk, en and ru:
what an editor and a journalist type and press, and what broke when they did (each test was
red on the code before its fix).

Every post and name here is invented for these tests.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.handlers import SORRY
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.handlers.harness import BASE, EDITOR, JOURNALIST, DeskBot, running_desk


def _links(text: str) -> list[str]:
    return re.findall(r"https://t\.me/\S+/\d+", text)


async def _page(desk: DeskBot, data: str, message_id: int) -> str:
    await desk.press(JOURNALIST, data, message_id)
    shown = desk.api.find_message(JOURNALIST, message_id)
    assert shown is not None
    return shown.text or ""


def _button(desk: DeskBot, message_id: int, which: int) -> str:
    shown = desk.api.find_message(JOURNALIST, message_id)
    assert shown is not None and shown.reply_markup is not None
    return str(shown.reply_markup["inline_keyboard"][0][which]["callback_data"])


async def test_paging_after_new_posts_skips_nothing(tmp_path: Path, lang: str) -> None:
    """Page 2, then new posts arrive, then ‹ Newer (page 1 now shows them), then Older ›: the
    posts between the new first page and the old second page were skipped (Older › went on
    from where the first page ended before the new posts came)."""
    async with running_desk(tmp_path, lang=lang, extra_posts=12) as desk:
        (first,) = await desk.ask(JOURNALIST, "/search енергосистема")
        mid = first.message_id
        seen = _links(first.text or "")
        seen += _links(await _page(desk, _button(desk, mid, -1), mid))
        fresh = [
            Post(
                "grid_ministry_demo",
                500 + n,
                BASE + timedelta(days=1, minutes=n),
                f"Нове зведення {n}: енергосистема працює.",
            )
            for n in range(7)
        ]
        await Pipeline(desk.store, alert=False).handle_batch(fresh)
        shown = _links(await _page(desk, _button(desk, mid, 0), mid))  # ‹ Newer: page 1 again
        while True:
            markup = desk.api.find_message(JOURNALIST, mid).reply_markup  # type: ignore[union-attr]
            row = markup["inline_keyboard"][0] if markup else []
            older = [b for b in row if b["text"].endswith("›")]
            if not older:
                break
            shown += _links(await _page(desk, older[0]["callback_data"], mid))
        # Every matching post, newest first, each once: 12 old ones and 7 new ones.
        assert len(shown) == 19, shown
        assert len(set(shown)) == 19
        assert shown[:7] == [f"https://t.me/grid_ministry_demo/{506 - n}" for n in range(7)]
        assert set(seen) <= set(shown)


async def test_older_pressed_twice_is_not_an_error(
    tmp_path: Path, lang: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A double tap on Older › (a slow phone): the second press found the page already shown,
    Telegram refused the edit ("message is not modified") and the handler failed into the
    error path, logged as a failure."""
    async with running_desk(tmp_path, lang=lang, extra_posts=12) as desk:
        (first,) = await desk.ask(JOURNALIST, "/search енергосистема")
        mid = first.message_id
        older = _button(desk, mid, -1)
        page2 = await _page(desk, older, mid)
        qid = await desk.api.inject_callback(JOURNALIST, older, message_id=mid)
        await desk.api.wait_for(lambda api: qid in api.callback_answers)
        assert desk.api.callback_answers[qid].get("text") != desk.t(SORRY)[:200]
        assert await _page(desk, older, mid) == page2
        # Telegram refused the second edit of a page already on screen: not a failure.
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_rule_typed_again_is_not_added_twice(tmp_path: Path, lang: str) -> None:
    """The same rule retyped with other spacing, case or the operator in another alphabet was
    saved again under a new number: two lines in /rules for one rule, and a /rule remove that
    left the other one alerting."""
    async with running_desk(tmp_path, lang=lang) as desk:
        (first,) = await desk.ask(EDITOR, "/rule add енергетики  OR   кордоні")
        rule_id = int(re.findall(r"\d+", first.text or "")[0])
        for again in ("енергетики OR кордоні", "ЕНЕРГЕТИКИ OR Кордоні", "енергетики АБО кордоні"):
            (reply,) = await desk.ask(EDITOR, f"/rule add {again}")
            assert reply.text == "✅ " + desk.t(
                "Desk rule #{id} already exists: {query}",
                id=rule_id,
                query="енергетики OR кордоні",
            )
        assert len(await desk.store.rules.list()) == 1
        # Someone else's rule is not theirs: a journalist's own copy is a rule of its own.
        (mine,) = await desk.ask(JOURNALIST, "/rule my енергетики OR кордоні")
        assert mine.text == "✅ " + desk.t(
            "Your rule #{id} added: {query}", id=rule_id + 1, query="енергетики OR кордоні"
        )
        assert len(await desk.store.rules.list()) == 2
