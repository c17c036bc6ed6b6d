"""Every bot command end to end: aiogram long polling against the fake Bot API over HTTP."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.handlers import SORRY
from bot.handlers.access import REFUSAL
from bot.handlers.common import COMMANDS
from tests.handlers.harness import (
    ADMIN,
    EDITOR,
    JOURNALIST,
    STRANGER,
    FakeListener,
    running_desk,
)


def bold_texts(text: str, entities: list[dict[str, Any]]) -> list[str]:
    """Bold pieces of a message; entity offsets count UTF-16 units, as Telegram's do."""
    raw = text.encode("utf-16-le")
    return [
        raw[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in entities
        if e["type"] == "bold"
    ]


async def test_stranger_gets_only_the_refusal(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        attempts = [f"/{name} x" for name, *_ in COMMANDS] + [
            "/search енергетики",
            "/post https://t.me/grid_ministry_demo/10",
            "/people add 6666 admin",
            "/export енергетики",
            "hello?",
            "/nonsense",
        ]
        for text in attempts:
            replies = await desk.ask(STRANGER, text)
            assert [m.text for m in replies] == [REFUSAL], text
        qid = await desk.press(STRANGER, "full:1")
        assert desk.api.callback_answers[qid]["text"] == REFUSAL[:200]
        # Nothing else reached them: no documents, no post text, no buttons.
        sent = desk.bot_messages(STRANGER)
        assert {m.text for m in sent} == {REFUSAL}
        assert all(m.document is None and m.reply_markup is None for m in sent)
        assert await desk.store.people.by_user_id(STRANGER) is None
        log = await desk.store.state.audit_log()
        assert [(a, act) for _, a, act, _ in log] == [(STRANGER, "stranger")]


async def test_start_help_and_command_menus_per_role(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        await desk.api.wait_for(lambda a: len(a.commands) >= 3)
        menus = {
            json.loads(k[0]).get("chat_id"): [c["command"] for c in v]
            for k, v in desk.api.commands.items()
        }
        assert menus[None] == ["start"]
        assert "watch" in menus[EDITOR] and "people" not in menus[EDITOR]
        assert "watch" not in menus[JOURNALIST] and "search" in menus[JOURNALIST]
        (reply,) = await desk.ask(JOURNALIST, "/start")
        assert "role: journalist" in (reply.text or "")
        (reply,) = await desk.ask(JOURNALIST, "/help")
        assert "/search" in (reply.text or "") and "/watch" not in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/help")  # an admin from settings, not in the table
        assert "/people" in (reply.text or "") and "/watch" in (reply.text or "")
        (reply,) = await desk.ask(JOURNALIST, "/watch @grid_ministry_demo")
        assert reply.text == "/watch is for editors; /help lists your commands."
        (reply,) = await desk.ask(EDITOR, "/people")
        assert reply.text == "/people is for admins; /help lists your commands."
        (reply,) = await desk.ask(EDITOR, "/frobnicate")
        assert reply.text == "Unknown command; /help lists your commands."


async def test_people_add_bind_remove_and_audit(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (reply,) = await desk.ask(ADMIN, "/people add @night_reporter journalist")
        assert reply.text == "✅ @night_reporter is now journalist."
        # They write for the first time: bound by username, served as a journalist.
        (reply,) = await desk.ask(8123, "/start", username="Night_Reporter")
        assert "role: journalist" in (reply.text or "")
        person = await desk.store.people.by_user_id(8123)
        assert person is not None and person.username == "night_reporter"
        (reply,) = await desk.ask(ADMIN, "/people")
        assert "journalist · @night_reporter · 8123" in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/people add 8123 overlord")
        assert "role must be one of admin, editor, journalist" in (reply.text or "")
        assert "Usage: /people" in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/people remove @night_reporter")
        assert reply.text == "🗑 @night_reporter removed."
        (reply,) = await desk.ask(8123, "/search енергетики")
        assert reply.text == REFUSAL
        (reply,) = await desk.ask(ADMIN, "/audit")
        assert "people.add @night_reporter as journalist" in (reply.text or "")
        assert "people.remove @night_reporter" in (reply.text or "")


async def test_search_highlights_and_pages(tmp_path: Path) -> None:
    async with running_desk(tmp_path, extra_posts=12) as desk:
        (page1,) = await desk.ask(JOURNALIST, "/search енергосистема")
        text = page1.text or ""
        assert text.count("https://t.me/grid_ministry_demo/") == 5
        assert "page 1" in text and "Ivanna Kovalenko (@grid_ministry_demo)" in text
        # Newest first: post 111 (12th extra) leads; the matched word is bold.
        assert text.index("/111") < text.index("/110")
        bold = bold_texts(text, page1.entities)
        assert "енергосистема" in bold
        assert "2025-12-03 09:" in text  # the journalist's zone is UTC
        buttons = page1.reply_markup["inline_keyboard"][0]  # type: ignore[index]
        assert [b["text"] for b in buttons] == ["Older ›"]
        older = buttons[0]["callback_data"]
        assert len(older.encode()) <= 64
        await desk.press(JOURNALIST, older, page1.message_id)
        edited = desk.api.find_message(JOURNALIST, page1.message_id)
        assert edited is not None and "page 2" in (edited.text or "")
        assert "/106" in (edited.text or "") and "/111" not in (edited.text or "")
        assert [b["text"] for b in edited.reply_markup["inline_keyboard"][0]] == [  # type: ignore[index]
            "‹ Newer",
            "Older ›",
        ]
        # Someone else's paging token is refused.
        qid = await desk.press(EDITOR, older)
        assert "expired" in desk.api.callback_answers[qid]["text"]


async def test_search_filters_and_hostile_markup(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (r,) = await desk.ask(JOURNALIST, "/search кордон from:@border_service_demo")
        assert "/border_service_demo/20" in (r.text or "")
        assert "<b>увага</b> &" in (r.text or "")  # post markup shown as text, not applied
        (r,) = await desk.ask(JOURNALIST, "/search пункт deleted:yes")
        assert "/border_service_demo/21" in (r.text or "") and "deleted" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search графік edited:yes")
        assert "/grid_ministry_demo/11" in (r.text or "") and "edited" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search енергетики since:2026-01-01")
        assert "No posts found." in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search енергетики since:yesterdayish")
        assert "not a date" in (r.text or "") and "Usage: /search" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search (енергетики")
        assert "unbalanced parenthesis at character 0" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search")
        assert (r.text or "").startswith("Usage: /search")


async def test_post_shows_versions_and_draft(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        body, draft = await desk.ask(
            JOURNALIST, "/post https://t.me/grid_ministry_demo/11", replies=2
        )
        assert "Version 1" in (body.text or "") and "Version 2" in (body.text or "")
        assert "до вечора" in (body.text or "") and "до ранку" in (body.text or "")
        assert (draft.text or "").startswith("📝 Draft")
        assert "Ivanna Kovalenko, Minister of Energy, said on Telegram" in (draft.text or "")
        assert "до ранку" in (draft.text or "")
        (r,) = await desk.ask(JOURNALIST, "/post https://t.me/grid_ministry_demo/999")
        assert "no stored post" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/post not-a-link")
        assert "not a post link" in (r.text or "") and "Usage: /post" in (r.text or "")


async def test_export_sends_csv_and_json(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        note, csv_doc, json_doc = await desk.ask(EDITOR, "/export кордон OR енергетики", replies=3)
        assert note.text == "✅ 2 posts"
        assert csv_doc.document is not None and json_doc.document is not None
        assert csv_doc.document.filename == "wirewatch-export.csv"
        rows = list(csv.DictReader(io.StringIO(csv_doc.document.data.decode("utf-8-sig"))))
        assert [r["permalink"] for r in rows] == [
            "https://t.me/border_service_demo/20",
            "https://t.me/grid_ministry_demo/10",
        ]
        data = json.loads(json_doc.document.data)
        assert data[0]["text"] == "На кордоні черги: <b>увага</b> & дякуємо за терпіння."
        (r,) = await desk.ask(EDITOR, "/export зовсімнемаєтакогослова")
        assert r.text == "No posts found; nothing to export."


async def test_watch_unwatch_with_listener(tmp_path: Path) -> None:
    listener = None

    def make(store):  # type: ignore[no-untyped-def]
        nonlocal listener
        listener = FakeListener(store, missing={"no_such_chan"})
        return listener

    async with running_desk(tmp_path, listener=make) as desk:
        (r,) = await desk.ask(
            EDITOR, "/watch https://t.me/Rail_News_Demo Oksana Shevchuk | Head of the railway"
        )
        assert (r.text or "").startswith("✅ @rail_news_demo followed now.")
        assert "Oksana Shevchuk · Head of the railway" in (r.text or "")
        assert listener is not None and listener.followed == ["rail_news_demo"]
        src = await desk.store.sources.by_username("rail_news_demo")
        assert src is not None and src.person["uk"] == "Oksana Shevchuk"  # editor's lang: uk
        (r,) = await desk.ask(EDITOR, "/watch @no_such_chan")
        assert r.text == "⚠️ @no_such_chan: no such channel (check the spelling)"
        gone = await desk.store.sources.by_username("no_such_chan")
        assert gone is not None and not gone.active
        (r,) = await desk.ask(EDITOR, "/watch @x")
        assert "not a channel username" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/sources")
        assert "@rail_news_demo" in (r.text or "") and "@no_such_chan (not followed)" in (
            r.text or ""
        )
        (r,) = await desk.ask(EDITOR, "/unwatch @rail_news_demo")
        assert "no longer followed" in (r.text or "") and listener.unfollowed == ["rail_news_demo"]
        (r,) = await desk.ask(EDITOR, "/unwatch @rail_news_demo")
        assert "is not a source we follow" in (r.text or "")


async def test_watch_without_listener_registers(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (r,) = await desk.ask(EDITOR, "/watch @rail_news_demo")
        assert "registered; the listener is not running here" in (r.text or "")
        src = await desk.store.sources.by_username("rail_news_demo")
        assert src is not None and src.active


async def test_rules_add_test_remove(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (r,) = await desk.ask(EDITOR, "/rule add енергетика -кордон")
        assert (r.text or "").startswith("✅ Rule #1 added (the desk's)")
        (r,) = await desk.ask(JOURNALIST, "/rule add графік")
        assert (r.text or "").startswith("✅ Rule #2 added (yours)")
        (r,) = await desk.ask(JOURNALIST, "/rules")
        assert "#1 [desk] енергетика -кордон" in (r.text or "")
        assert "#2 [" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/rule remove 1")
        assert "rule #1 is not yours" in (r.text or "")
        (r,) = await desk.ask(EDITOR, "/rule test енергетики")
        assert (r.text or "").startswith("1 of the last 4 posts match")
        assert "https://t.me/grid_ministry_demo/10" in (r.text or "")
        assert await desk.store.rules.find("енергетики", None) is None  # not saved
        (r,) = await desk.ask(EDITOR, '/rule add "обмін полоненими')
        assert "bad rule:" in (r.text or "") and "Usage: /rule" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/rule remove 2")
        assert (r.text or "").startswith("🗑 Rule #2 removed")
        (r,) = await desk.ask(JOURNALIST, "/rule remove two")
        assert "not a rule number" in (r.text or "")


async def test_preferences(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (r,) = await desk.ask(JOURNALIST, "/lang ru")
        assert r.text == "Drafts will be in ru."
        (r,) = await desk.ask(JOURNALIST, "/lang de")
        assert "language must be one of uk, en, ru" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/tz Mars/Olympus")
        assert "unknown time zone" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/tz Europe/Warsaw")
        assert r.text == "Times are now shown in Europe/Warsaw."
        (r,) = await desk.ask(JOURNALIST, "/mute @border_service_demo 2h")
        assert (r.text or "").startswith("🔇 @border_service_demo muted until ")
        (r,) = await desk.ask(JOURNALIST, "/mute @border_service_demo soon")
        assert "not a duration" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/mute")
        assert "@border_service_demo until" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/unmute @border_service_demo")
        assert r.text == "🔔 Alerts from @border_service_demo again."
        (r,) = await desk.ask(JOURNALIST, "/quiet 23:00-07:00")
        assert (r.text or "").startswith("🌙 Quiet hours 23:00-07:00 (Europe/Warsaw)")
        (r,) = await desk.ask(JOURNALIST, "/quiet 25:00-07:00")
        assert "not a time of day" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/digest daily 8:30")
        assert r.text == "🗞 Daily digest at 08:30 (Europe/Warsaw)."
        (r,) = await desk.ask(JOURNALIST, "/digest weekly 8:30")
        assert (r.text or "").startswith("Usage: /digest")
        (r,) = await desk.ask(JOURNALIST, "/pause")
        assert (r.text or "").startswith("⏸ Alerts paused")
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        assert (
            person.lang,
            person.tz,
            person.quiet_from,
            person.quiet_to,
            person.digest_at,
            person.paused,
        ) == ("ru", "Europe/Warsaw", "23:00", "07:00", "08:30", True)
        assert await desk.store.people.muted_sources(person.id) == {}
        (r,) = await desk.ask(JOURNALIST, "/pause")
        assert r.text == "▶️ Alerts resumed."


async def test_status_for_editors(tmp_path: Path) -> None:
    async def status() -> dict[str, object]:
        return {
            "connected": False,
            "flood_wait_until": "2999-01-01T00:00:00+00:00",
            "last_error": "connection reset by peer",
        }

    async with running_desk(tmp_path, status=status) as desk:
        (r,) = await desk.ask(EDITOR, "/status")
        text = r.text or ""
        assert "Listener: NOT connected" in text
        assert "FloodWait: until 2999-01-01T00:00:00+00:00" in text
        assert "Last error: connection reset by peer" in text
        assert "Outbox: 0 waiting" in text and "Database: " in text and "4 posts" in text
        assert "@grid_ministry_demo: " in text and "days ago" in text
        (r,) = await desk.ask(JOURNALIST, "/status")
        assert r.text == "/status is for editors; /help lists your commands."


async def test_alert_buttons(tmp_path: Path) -> None:
    async with running_desk(tmp_path, extra_posts=3) as desk:
        post = await desk.store.posts.get_by_link("grid_ministry_demo", 10)
        assert post is not None
        await desk.press(JOURNALIST, f"full:{post.id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) >= 2)
        texts = [m.text or "" for m in desk.bot_messages(JOURNALIST)]
        assert any("Енергетики відновили живлення" in t for t in texts)
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"rel:{post.id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) > before)
        related = desk.bot_messages(JOURNALIST)[-1].text or ""
        assert related.startswith("Earlier:") or related == "No earlier posts on this topic."
        # The mute button asks for how long; "forever" is one of the answers, never the default.
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"mute:{post.source_id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) > before)
        offer = desk.bot_messages(JOURNALIST)[-1]
        assert (offer.text or "").startswith("Mute @grid_ministry_demo for how long?")
        qid = await desk.press(JOURNALIST, f"mute:{post.source_id}:forever")
        assert "Muted @grid_ministry_demo" in desk.api.callback_answers[qid]["text"]
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        assert await desk.store.people.muted_sources(person.id) == {post.source_id: None}
        qid = await desk.press(JOURNALIST, "full:99999")
        assert "no longer stored" in desk.api.callback_answers[qid]["text"]
        qid = await desk.press(JOURNALIST, "launch:missiles")
        assert "no longer available" in desk.api.callback_answers[qid]["text"]


async def test_errors_are_logged_and_not_leaked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(store):  # type: ignore[no-untyped-def]
        return FakeListener(store, broken=True)

    caplog.set_level(logging.ERROR, logger="bot.handlers")
    async with running_desk(tmp_path, listener=broken) as desk:
        await desk.api.inject_message(EDITOR, "/watch @rail_news_demo")
        await desk.api.wait_for(lambda a: any(m.text == SORRY for m in a.sent_messages(EDITOR)))
        assert all("secret" not in (m.text or "") for m in desk.bot_messages(EDITOR))
        # The service keeps answering after a failure.
        (r,) = await desk.ask(EDITOR, "/rules")
        assert r.text is not None
    assert any("handler failed" in r.getMessage() for r in caplog.records)
