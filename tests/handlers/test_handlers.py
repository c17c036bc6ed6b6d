"""Every bot command end to end: aiogram long polling against the fake Bot API over HTTP.

Each test runs once per language (the `lang` fixture): the same behaviour, the texts looked up
in that language's catalogue, and in Ukrainian no English sentence anywhere (the harness)."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.desk.search import BAD_DATE, DATE_WORD
from bot.handlers import SORRY
from bot.handlers.access import REFUSAL
from bot.handlers.common import COMMANDS, USAGE
from bot.i18n import translator
from tests.handlers.harness import (
    ADMIN,
    EDITOR,
    JOURNALIST,
    NO_SUCH_CHANNEL,
    NOT_A_USERNAME,
    STRANGER,
    DeskBot,
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


async def test_stranger_gets_only_the_refusal(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        refusal = desk.t(REFUSAL)
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
            assert [m.text for m in replies] == [refusal], text
        qid = await desk.press(STRANGER, "full:1")
        assert desk.api.callback_answers[qid]["text"] == refusal[:200]
        # Nothing else reached them: no documents, no post text, no buttons.
        sent = desk.bot_messages(STRANGER)
        assert {m.text for m in sent} == {refusal}
        assert all(m.document is None and m.reply_markup is None for m in sent)
        assert await desk.store.people.by_user_id(STRANGER) is None
        log = await desk.store.state.audit_log()
        assert [(a, act) for _, a, act, _ in log] == [(STRANGER, "stranger")]


async def test_start_help_and_command_menus_per_role(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.api.wait_for(lambda a: len(a.commands) >= 6)
        menus = {
            (json.loads(k[0]).get("chat_id"), k[1]): {c["command"]: c["description"] for c in v}
            for k, v in desk.api.commands.items()
        }
        # Strangers: /start, described in each app language, the desk default otherwise.
        for code in ("", "uk", "en", "ru"):
            start = translator(code or lang).gettext("what this bot is")
            assert menus[(None, code)] == {"start": start}
        # People: their role's commands, in their language, whatever their app's language.
        assert "watch" in menus[(EDITOR, "")] and "people" not in menus[(EDITOR, "")]
        journalist = menus[(JOURNALIST, "")]
        assert "watch" not in journalist
        assert journalist["search"] == desk.t("search the archive, newest first")
        (reply,) = await desk.ask(JOURNALIST, "/start")
        assert desk.t("role: {role}", role=desk.t("journalist")) in (reply.text or "")
        (reply,) = await desk.ask(JOURNALIST, "/help")
        assert (reply.text or "").startswith(desk.t("Commands for journalists"))
        assert "/search" in (reply.text or "") and "/watch" not in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/help")  # an admin from settings, not in the table
        assert "/people" in (reply.text or "") and "/watch" in (reply.text or "")
        (reply,) = await desk.ask(JOURNALIST, "/watch @grid_ministry_demo")
        needs = "/{command} is for the role {role} and above; /help lists your commands."
        assert reply.text == desk.t(needs, command="watch", role=desk.t("editor"))
        (reply,) = await desk.ask(EDITOR, "/people")
        assert reply.text == desk.t(needs, command="people", role=desk.t("admin"))
        (reply,) = await desk.ask(EDITOR, "/frobnicate")
        assert reply.text == desk.t("Unknown command; /help lists your commands.")


def usage(desk: DeskBot, command: str) -> str:
    """The usage line of `command` as this desk's people read it (plain text)."""
    return desk.t("Usage: {usage}", usage=desk.t(USAGE[command]))


async def test_people_add_bind_remove_and_audit(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(ADMIN, "/people add @night_reporter journalist")
        now = desk.t("{who} is now: {role}.", who="@night_reporter", role=desk.t("journalist"))
        assert reply.text == "✅ " + now
        # They write for the first time: bound by username, served as a journalist.
        (reply,) = await desk.ask(8123, "/start", username="Night_Reporter")
        assert desk.t("role: {role}", role=desk.t("journalist")) in (reply.text or "")
        person = await desk.store.people.by_user_id(8123)
        assert person is not None and person.username == "night_reporter"
        (reply,) = await desk.ask(ADMIN, "/people")
        assert f"{desk.t('journalist')} · User8123 · @night_reporter" in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/people add 8123 overlord")
        # The roles as this desk types them (they were English words in every language).
        refused = desk.t(
            "role must be one of {roles}, not '{value}'",
            roles=desk.t("admin, editor, journalist"),
            value="overlord",
        )
        assert refused in (reply.text or "")
        assert usage(desk, "people") in (reply.text or "")
        (reply,) = await desk.ask(ADMIN, "/people remove @night_reporter")
        assert reply.text == "🗑 " + desk.t("{who} removed.", who="@night_reporter")
        (reply,) = await desk.ask(8123, "/search енергетики")
        assert reply.text == desk.t(REFUSAL)
        (reply,) = await desk.ask(ADMIN, "/audit")
        added = desk.t("person added or role set")
        assert f"{added} @night_reporter → {desk.t('journalist')}" in (reply.text or "")
        assert desk.t("person removed") + " @night_reporter" in (reply.text or "")


async def test_search_highlights_and_pages(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, extra_posts=12, lang=lang) as desk:
        (page1,) = await desk.ask(JOURNALIST, "/search енергосистема")
        text = page1.text or ""
        assert text.count("https://t.me/grid_ministry_demo/") == 5
        minister = "Ivanna Kovalenko" if lang == "en" else "Іванна Коваленко"
        assert desk.t("page {n}", n=1) in text and f"{minister} (@grid_ministry_demo)" in text
        # Newest first: post 111 (12th extra) leads; the matched word is bold.
        assert text.index("/111") < text.index("/110")
        bold = bold_texts(text, page1.entities)
        assert "енергосистема" in bold
        assert "2025-12-03 09:" in text  # the journalist's zone is UTC
        newer, older_label = "‹ " + desk.t("Newer"), desk.t("Older") + " ›"
        buttons = page1.reply_markup["inline_keyboard"][0]  # type: ignore[index]
        assert [b["text"] for b in buttons] == [older_label]
        older = buttons[0]["callback_data"]
        assert len(older.encode()) <= 64
        await desk.press(JOURNALIST, older, page1.message_id)
        edited = desk.api.find_message(JOURNALIST, page1.message_id)
        assert edited is not None and desk.t("page {n}", n=2) in (edited.text or "")
        assert "/106" in (edited.text or "") and "/111" not in (edited.text or "")
        assert [b["text"] for b in edited.reply_markup["inline_keyboard"][0]] == [  # type: ignore[index]
            newer,
            older_label,
        ]
        # Someone else's paging token is refused, saying whose it is.
        qid = await desk.press(EDITOR, older)
        theirs = desk.t(
            "Only the person who ran this search can turn its pages; send /search yourself."
        )
        assert desk.api.callback_answers[qid]["text"] == theirs


async def test_search_paging_survives_a_restart(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, extra_posts=12, lang=lang) as desk:
        (page1,) = await desk.ask(JOURNALIST, "/search енергосистема")
        buttons = page1.reply_markup["inline_keyboard"][0]  # type: ignore[index]
        older = buttons[0]["callback_data"]
    # A new service on the same database: the buttons of a result sent before still page.
    async with running_desk(tmp_path, extra_posts=12, lang=lang, people=False) as desk:
        qid = await desk.press(JOURNALIST, older)
        assert desk.api.callback_answers[qid].get("text") in (None, "")
        # The page is sent after the button's answer: wait for it, not for a fixed time.
        await desk.api.wait_for(lambda api: len(api.sent_messages(JOURNALIST)) >= 1)
        (page2,) = desk.api.sent_messages(JOURNALIST)
        assert desk.t("page {n}", n=2) in (page2.text or "")
        assert "/106" in (page2.text or "") and "/111" not in (page2.text or "")
        # The next page's button works too: its cursor was saved when page 2 was shown.
        further = page2.reply_markup["inline_keyboard"][0][-1]["callback_data"]  # type: ignore[index]
        await desk.press(JOURNALIST, further)
        await desk.api.wait_for(lambda api: len(api.sent_messages(JOURNALIST)) >= 2)
        page3 = desk.api.sent_messages(JOURNALIST)[-1]
        assert desk.t("page {n}", n=3) in (page3.text or "")
        # Someone else still cannot use them.
        qid = await desk.press(EDITOR, older)
        theirs = desk.t(
            "Only the person who ran this search can turn its pages; send /search yourself."
        )
        assert desk.api.callback_answers[qid]["text"] == theirs


async def test_search_filters_and_hostile_markup(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(JOURNALIST, "/search кордон from:@border_service_demo")
        assert "/border_service_demo/20" in (r.text or "")
        assert "<b>увага</b> &" in (r.text or "")  # post markup shown as text, not applied
        (r,) = await desk.ask(JOURNALIST, "/search пункт deleted:yes")
        assert "/border_service_demo/21" in (r.text or "")
        assert "🗑 " + desk.t("deleted") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search графік edited:так")
        assert "/grid_ministry_demo/11" in (r.text or "")
        assert "✏️ " + desk.t("edited") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search енергетики since:2026-01-01")
        assert desk.t("No posts found.") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search енергетики since:yesterdayish")
        not_a_date = desk.t(BAD_DATE, value="yesterdayish")
        assert not_a_date in (r.text or "") and usage(desk, "search") in (r.text or "")
        # A date typed as a word: the answer says where dates go.
        (r,) = await desk.ask(JOURNALIST, "/search енергетики вчора")
        assert desk.t("No posts found.") in (r.text or "")
        assert desk.t(DATE_WORD, word="вчора") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search (енергетики")
        assert desk.t("unbalanced parenthesis at character {pos}", pos=0) in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/search")
        assert (r.text or "") == usage(desk, "search")


async def test_post_shows_versions_and_draft(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        body, draft = await desk.ask(
            JOURNALIST, "/post https://t.me/grid_ministry_demo/11", replies=2
        )
        for n in (1, 2):
            assert desk.t("Version {n} · {time}", n=n, time="") in (body.text or "")
        assert "до вечора" in (body.text or "") and "до ранку" in (body.text or "")
        assert (draft.text or "").startswith("📝 " + desk.t("Draft"))
        minister = "Ivanna Kovalenko" if lang == "en" else "Іванна Коваленко"
        assert minister in (draft.text or "")
        assert "до ранку" in (draft.text or "")
        (r,) = await desk.ask(JOURNALIST, "/post https://t.me/grid_ministry_demo/999")
        link = "https://t.me/grid_ministry_demo/999"
        assert desk.t("no stored post at {link}", link=link) in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/post not-a-link")
        problem = desk.t("not a link to a Telegram post: {text}", text="not-a-link")
        assert problem in (r.text or "") and usage(desk, "post") in (r.text or "")


async def test_export_sends_csv_and_json(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        note, csv_doc, _sheet, json_doc = await desk.ask(
            EDITOR, "/export кордон OR енергетики", replies=4
        )
        assert note.text == "✅ " + desk.tr.ngettext("{n} post", "{n} posts", 2)
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
        assert r.text == desk.t("No posts found; nothing to export.")


async def test_watch_unwatch_with_listener(tmp_path: Path, lang: str) -> None:
    listener = None

    def make(store):  # type: ignore[no-untyped-def]
        nonlocal listener
        listener = FakeListener(store, missing={"no_such_chan"})
        return listener

    async with running_desk(tmp_path, listener=make, lang=lang) as desk:
        (r,) = await desk.ask(
            EDITOR, "/watch https://t.me/Rail_News_Demo Oksana Shevchuk | Head of the railway"
        )
        followed = desk.t("@{channel} followed now.", channel="rail_news_demo")
        assert (r.text or "").startswith("✅ " + followed)
        assert "Oksana Shevchuk · Head of the railway" in (r.text or "")
        assert listener is not None and listener.followed == ["rail_news_demo"]
        src = await desk.store.sources.by_username("rail_news_demo")
        # The attribution is stored in the editor's language.
        assert src is not None and src.person[lang] == "Oksana Shevchuk"
        (r,) = await desk.ask(EDITOR, "/watch @no_such_chan")
        missing = desk.t(NO_SUCH_CHANNEL, channel="no_such_chan")
        assert r.text == "⚠️ " + missing
        gone = await desk.store.sources.by_username("no_such_chan")
        assert gone is not None and not gone.active
        (r,) = await desk.ask(EDITOR, "/watch @x")
        assert desk.t(NOT_A_USERNAME, value="@x") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/sources")
        assert "@rail_news_demo" in (r.text or "")
        assert "@no_such_chan " + desk.t("(not followed)") in (r.text or "")
        # The listener's note on the source, in the reader's language.
        assert "⚠️ " + missing in (r.text or "")
        (r,) = await desk.ask(EDITOR, "/unwatch @rail_news_demo")
        unfollowed = "@{channel} is no longer followed; its posts stay searchable."
        assert r.text == desk.t(unfollowed, channel="rail_news_demo")
        assert listener.unfollowed == ["rail_news_demo"]
        (r,) = await desk.ask(EDITOR, "/unwatch @rail_news_demo")
        not_ours = desk.t("@{channel} is not a source we follow", channel="rail_news_demo")
        assert not_ours in (r.text or "")


async def test_watch_without_listener_registers(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(EDITOR, "/watch @rail_news_demo")
        registered = desk.t(
            "@{channel} registered; the listener is not running here, so it is followed "
            "when it starts.",
            channel="rail_news_demo",
        )
        assert r.text == "✅ " + registered
        src = await desk.store.sources.by_username("rail_news_demo")
        assert src is not None and src.active


async def test_rules_add_test_remove(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(EDITOR, "/rule add енергетика -кордон")
        added = desk.t("Desk rule #{id} added: {query}", id=1, query="енергетика -кордон")
        assert r.text == "✅ " + added
        (r,) = await desk.ask(JOURNALIST, "/rule додати графік")  # the verb in Ukrainian
        assert r.text == "✅ " + desk.t("Your rule #{id} added: {query}", id=2, query="графік")
        (r,) = await desk.ask(JOURNALIST, "/rules")
        assert f"#1 [{desk.t('desk')}] енергетика -кордон" in (r.text or "")
        assert "#2 [" in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/rule remove 1")
        assert desk.t("rule #{id} is not yours; ask an editor", id=1) in (r.text or "")
        (r,) = await desk.ask(EDITOR, "/rule test енергетики")
        matched = desk.tr.ngettext(
            "{hits} of the last {n} post matches", "{hits} of the last {n} posts match", 4, hits=1
        )
        assert (r.text or "").startswith(matched)
        assert "https://t.me/grid_ministry_demo/10" in (r.text or "")
        assert await desk.store.rules.find("енергетики", None) is None  # not saved
        (r,) = await desk.ask(EDITOR, '/rule add "обмін полоненими')
        reason = desk.t("unclosed quote at character {pos}", pos=0)
        assert desk.t("bad rule: {reason}", reason=reason) in (r.text or "")
        assert usage(desk, "rule") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/rule remove 2")
        assert (r.text or "").startswith(
            "🗑 " + desk.t("Rule #{id} removed: {query}", id=2, query="")
        )
        (r,) = await desk.ask(JOURNALIST, "/rule remove two")
        assert desk.t("not a rule number: '{value}'", value="two") in (r.text or "")


async def test_preferences(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(JOURNALIST, "/lang de")
        assert desk.t("language must be one of {langs}", langs="uk, en, ru") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/tz Mars/Olympus")
        unknown = desk.t(
            "unknown time zone '{value}' (e.g. Europe/Kyiv, UTC)", value="Mars/Olympus"
        )
        assert unknown in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/tz Europe/Warsaw")
        assert r.text == desk.t("Times are now shown in {zone}.", zone="Europe/Warsaw")
        (r,) = await desk.ask(JOURNALIST, "/mute @border_service_demo 2h")
        assert (r.text or "").startswith("🔇 @border_service_demo")
        assert desk.t("until {time}", time="") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/mute @border_service_demo soon")
        duration = "not a duration: '{value}' (use 30m, 2h, 1d, 1w or forever)"
        assert desk.t(duration, value="soon") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/mute")
        assert "@border_service_demo " + desk.t("until {time}", time="") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/unmute @border_service_demo")
        assert r.text == "🔔 " + desk.t(
            "Alerts from @{channel} again.", channel="border_service_demo"
        )
        # Unmuting a channel that is not muted says so instead of claiming alerts resumed.
        (r,) = await desk.ask(JOURNALIST, "/unmute @border_service_demo")
        assert r.text == desk.t(
            "@{channel} was not muted: its alerts already reach you.",
            channel="border_service_demo",
        )
        (r,) = await desk.ask(JOURNALIST, "/quiet 23:00-07:00")
        quiet = desk.t(
            "Quiet hours {start}-{end} ({zone}): alerts are held and arrive as one digest when "
            "they end.",
            start="23:00",
            end="07:00",
            zone="Europe/Warsaw",
        )
        assert r.text == "🌙 " + quiet
        (r,) = await desk.ask(JOURNALIST, "/quiet 25:00-07:00")
        not_a_time = "not a time of day: '{value}' (use HH:MM, e.g. 07:30)"
        assert desk.t(not_a_time, value="25:00") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/digest щодня 8:30")  # the keyword in Ukrainian
        daily = desk.t("Daily digest at {time} ({zone}).", time="08:30", zone="Europe/Warsaw")
        assert r.text == "🗞 " + daily
        (r,) = await desk.ask(JOURNALIST, "/digest weekly 8:30")
        assert (r.text or "") == usage(desk, "digest")
        (r,) = await desk.ask(JOURNALIST, "/pause")
        assert r.text == "⏸ " + desk.t("Alerts paused; /pause again to resume.")
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        assert (
            person.lang,
            person.tz,
            person.quiet_from,
            person.quiet_to,
            person.digest_at,
            person.paused,
        ) == (lang, "Europe/Warsaw", "23:00", "07:00", "08:30", True)
        assert await desk.store.people.muted_sources(person.id) == {}
        (r,) = await desk.ask(JOURNALIST, "/pause вимк")
        assert r.text == "▶️ " + desk.t("Alerts resumed.")


async def test_status_for_editors(tmp_path: Path, lang: str) -> None:
    async def status() -> dict[str, object]:
        return {
            "connected": False,
            "flood_wait_until": "2999-01-01T00:00:00+00:00",
            "last_error": "ConnectionResetError",
        }

    async with running_desk(tmp_path, status=status, lang=lang) as desk:
        (r,) = await desk.ask(EDITOR, "/status")
        text = r.text or ""
        assert desk.t("Listener: {state}", state=desk.t("NOT connected")) in text
        flood = desk.t("FloodWait: until {time}", time="2999-01-01T00:00:00+00:00")
        assert flood in text
        assert desk.t("Last error: {error}", error="ConnectionResetError") in text
        assert desk.t("Outbox: {n} waiting", n=0) in text
        db = desk.tr.ngettext(
            "Database: {size}, {n} post", "Database: {size}, {n} posts", 4, size=""
        )
        assert db.split(",")[0] in text and db.split(",")[1] in text
        assert "@grid_ministry_demo: " in text
        # The seed is dated December 2025: days ago, in the reader's plural form.
        days = [desk.tr.ngettext("{n} day ago", "{n} days ago", n) for n in range(2, 4000)]
        assert any(f"@grid_ministry_demo: {d}" in text for d in days)
        (r,) = await desk.ask(JOURNALIST, "/status")
        needs = "/{command} is for the role {role} and above; /help lists your commands."
        assert r.text == desk.t(needs, command="status", role=desk.t("editor"))


async def test_alert_buttons(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, extra_posts=3, lang=lang) as desk:
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
        earlier = desk.t("Earlier:")  # the drafts' own heading, from the same catalogue
        nothing = desk.t("No earlier posts on this topic.")
        assert related.startswith(earlier) or related == nothing
        # The mute button asks for how long; "forever" is one of the answers, never the default.
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"mute:{post.source_id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) > before)
        offer = desk.bot_messages(JOURNALIST)[-1]
        asked = desk.t("Mute @{channel} for how long?", channel="grid_ministry_demo")
        assert offer.text == asked
        labels = [b["text"] for row in offer.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
        assert labels[-1] == desk.t("forever")
        qid = await desk.press(JOURNALIST, f"mute:{post.source_id}:forever")
        muted = desk.t(
            "Muted @{channel} {until}. /unmute @{channel} to undo.",
            channel="grid_ministry_demo",
            until=desk.t("until you unmute it"),
        )
        assert desk.api.callback_answers[qid]["text"] == muted[:200]
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        assert await desk.store.people.muted_sources(person.id) == {post.source_id: None}
        qid = await desk.press(JOURNALIST, "full:99999")
        gone = desk.t("That post is no longer stored.")
        assert desk.api.callback_answers[qid]["text"] == gone
        qid = await desk.press(JOURNALIST, "launch:missiles")
        stale = desk.t("This button is no longer available.")
        assert desk.api.callback_answers[qid]["text"] == stale


async def test_errors_are_logged_and_not_leaked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, lang: str
) -> None:
    def broken(store):  # type: ignore[no-untyped-def]
        return FakeListener(store, broken=True)

    caplog.set_level(logging.ERROR, logger="bot.handlers")
    async with running_desk(tmp_path, listener=broken, lang=lang) as desk:
        sorry = desk.t(SORRY)
        await desk.api.inject_message(EDITOR, "/watch @rail_news_demo")
        await desk.api.wait_for(lambda a: any(m.text == sorry for m in a.sent_messages(EDITOR)))
        assert all("secret" not in (m.text or "") for m in desk.bot_messages(EDITOR))
        # The service keeps answering after a failure.
        (r,) = await desk.ask(EDITOR, "/rules")
        assert r.text is not None
    assert any("handler failed" in r.getMessage() for r in caplog.records)
