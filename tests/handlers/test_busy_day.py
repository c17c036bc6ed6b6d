"""A busy day at the desk, played over real HTTP against the fake Bot API in uk, en and ru:
what an editor and a journalist type and press, and what broke when they did (each test was
red on the code before its fix).

Every post and name here is invented for these tests.
"""

from __future__ import annotations

import html
import io
import logging
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from bot.desk.glossary_file import load_glossary
from bot.handlers import SORRY
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.handlers.harness import ADMIN, BASE, EDITOR, JOURNALIST, DeskBot, running_desk


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


GLOSSARY_FIELDS = (
    "An entry has at most four fields, uk | en | ru | English note, and a name has no '|' in it."
)
TWO_ENTRIES = "'{first}' and '{second}' name two different entries; remove one of them first"
PRIVATE_LINK_ANSWER = (
    "That post is from a channel without a public @username: it cannot be looked up."
)


async def test_post_links_as_phones_write_them(tmp_path: Path, lang: str) -> None:
    """A link to a private channel's post (t.me/c/…, Telegram's "Copy link" there) was "not a
    link to a Telegram post" after /post and "Send a command" alone; a link a phone
    capitalised ("Https://T.me/…") was not a link at all."""
    async with running_desk(tmp_path, lang=lang) as desk:
        private = "⚠️ " + desk.t(PRIVATE_LINK_ANSWER)
        for text in (
            "/post https://t.me/c/1234567890/10",
            "https://t.me/c/1234567890/10",
            "t.me/c/1234567890/10?single",
        ):
            (reply,) = await desk.ask(JOURNALIST, text)
            assert reply.text == private, text
        for text in (
            "Https://t.me/grid_ministry_demo/10",
            "/post HTTPS://T.ME/grid_ministry_demo/10",
        ):
            post, draft = await desk.ask(JOURNALIST, text, replies=2)
            assert "https://t.me/grid_ministry_demo/10" in (post.text or ""), text
            assert (draft.text or "").startswith("📝 " + desk.t("Draft")), text


async def test_commands_in_capitals(tmp_path: Path, lang: str) -> None:
    """ "/Search …" (a keyboard that capitalised the first letter) and "/HELP" were "Unknown
    command": Telegram's command words are case-insensitive to people."""
    async with running_desk(tmp_path, lang=lang) as desk:
        (found,) = await desk.ask(JOURNALIST, "/Search енергетики")
        assert "https://t.me/grid_ministry_demo/10" in (found.text or "")
        (helped,) = await desk.ask(JOURNALIST, "/HELP")
        assert (helped.text or "").startswith(desk.t("Commands for journalists"))
        # The arguments keep their case: a regex is case-sensitive.
        (regex,) = await desk.ask(JOURNALIST, "/SEARCH /Енергетики/")
        assert "https://t.me/grid_ministry_demo/10" in (regex.text or "")


async def test_glossary_add_loses_no_names(tmp_path: Path, lang: str) -> None:
    """/glossary add with a field left empty replaced the whole entry: its other names, its
    notes and aliases were gone. Fields past the fourth were dropped without a word, and an
    entry naming two existing entries replaced both."""
    async with running_desk(tmp_path, lang=lang) as desk:
        path = tmp_path / "glossary.toml"
        await desk.ask(
            EDITOR,
            "/glossary add person Хакан Фідан | Hakan Fidan | Хакан Фидан | Foreign Minister",
        )
        # The editor fills in the English note only; the names stay.
        (reply,) = await desk.ask(EDITOR, "/glossary add person | Hakan Fidan | | Türkiye's FM")
        assert reply.text == desk.t("Replaced: {entry}", entry=(
            "Hakan Fidan, Türkiye's FM" if lang == "en" else "Хакан Фидан" if lang == "ru"
            else "Хакан Фідан"
        ))  # fmt: skip
        (entry,) = load_glossary(path).entries
        assert dict(entry.names) == {"uk": "Хакан Фідан", "en": "Hakan Fidan", "ru": "Хакан Фидан"}
        assert dict(entry.note) == {"en": "Türkiye's FM"}
        # A fifth field: a '|' inside a name, or a typo. Nothing is saved.
        (reply,) = await desk.ask(EDITOR, "/glossary add place Київ | Kyiv | Киев | capital | x")
        assert desk.t(GLOSSARY_FIELDS) in (reply.text or "")
        assert len(load_glossary(path).entries) == 1
        # Two entries named at once: asked, not both replaced by one.
        await desk.ask(EDITOR, "/glossary add place Одеса | Odesa | Одесса")
        (reply,) = await desk.ask(EDITOR, "/glossary add place Хакан Фідан | Odesa")
        two = desk.t(TWO_ENTRIES, first="Хакан Фідан", second="Odesa")
        assert two in (reply.text or "")
        names = sorted(e.names["en"] for e in load_glossary(path).entries)
        assert names == ["Hakan Fidan", "Odesa"]


OWN_ROLE = "you cannot change your own role; another admin can"
SETTINGS_ADMIN = "{who} is an admin through the settings (WIREWATCH_BOT__ADMINS); change it there"


async def test_admins_cannot_demote_themselves_and_settings_admins_stay(
    tmp_path: Path, lang: str
) -> None:
    """/people add <own id> journalist took the admin's own rights away (the last admin added
    by /people left the desk with none); demoting or removing an admin listed in the settings
    answered "now: journalist" / "removed" while they stayed an admin."""
    second = 7010
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(ADMIN, f"/people add {second} admin")
        (reply,) = await desk.ask(second, f"/people add {second} journalist")
        assert desk.t(OWN_ROLE) in (reply.text or "")
        person = await desk.store.people.by_user_id(second)
        assert person is not None and person.role == "admin"
        (reply,) = await desk.ask(ADMIN, f"/people add {ADMIN} editor")
        assert desk.t(OWN_ROLE) in (reply.text or "")
        for text in (f"/people add {ADMIN} journalist", f"/people remove {ADMIN}"):
            (reply,) = await desk.ask(second, text)
            assert desk.t(SETTINGS_ADMIN, who="User7001") in (reply.text or ""), reply.text
        person = await desk.store.people.by_user_id(ADMIN)
        assert person is not None and person.role == "admin" and person.active
        # Another admin's role is theirs to change.
        (reply,) = await desk.ask(ADMIN, f"/people add {second} editor")
        assert (reply.text or "").startswith("✅")


async def _edit(desk: DeskBot, user_id: int, message_id: int, text: str) -> None:
    """The person edits their message `message_id` to `text`, as Telegram reports it."""
    msg = desk.api.find_message(user_id, message_id)
    assert msg is not None
    msg.text = msg.raw = text
    msg.edits += 1
    msg.entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    desk.typed.append(text)
    await desk.api.inject_update({"edited_message": desk.api._message_json(msg)})


async def test_a_command_corrected_by_an_edit_is_answered(tmp_path: Path, lang: str) -> None:
    """A typo in a command fixed by editing the message (what people do in Telegram) got
    nothing: the bot did not even ask Telegram for edited messages."""
    async with running_desk(tmp_path, lang=lang) as desk:
        (unknown,) = await desk.ask(JOURNALIST, "/serch енергетики")
        assert unknown.text == desk.t("Unknown command; /help lists your commands.")
        typed = [m for m in desk.api.chats[JOURNALIST] if not m.from_bot][-1]
        before = len(desk.bot_messages(JOURNALIST))
        await _edit(desk, JOURNALIST, typed.message_id, "/search енергетики")
        await desk.api.wait_for(lambda api: len(api.sent_messages(JOURNALIST)) > before)
        (found,) = desk.bot_messages(JOURNALIST)[before:]
        assert "https://t.me/grid_ministry_demo/10" in (found.text or "")
        # Plain text edited is not a command: no answer to a fixed typo in a remark.
        await _edit(desk, JOURNALIST, typed.message_id, "дякую")
        await desk.ask(JOURNALIST, "/help")
        assert len(desk.bot_messages(JOURNALIST)) == before + 2


async def test_a_long_list_of_mutes_is_sent_whole(tmp_path: Path, lang: str) -> None:
    """/mute alone with 150 channels muted was one message past Telegram's 4,096 characters:
    refused by Telegram, and the journalist got "something went wrong"."""
    async with running_desk(tmp_path, lang=lang) as desk:
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        names = [f"regional_admin_channel_{n:03d}" for n in range(150)]
        for name in names:
            src = await desk.store.sources.ensure(name)
            await desk.store.people.mute(person.id, src.id, None)
        handled = desk.handling.finished + 1
        await desk.api.inject_message(JOURNALIST, "/mute")
        await desk.api.wait_for(lambda api: len(api.sent_messages(JOURNALIST)) >= 1)
        await desk.handling.settled(handled)  # every part of a long answer
        texts = [m.text or "" for m in desk.bot_messages(JOURNALIST)]
        assert desk.t(SORRY) not in texts
        assert all(len(t) <= 4096 for t in texts)
        listed = "\n".join(texts)
        assert all(f"@{name}" in listed for name in names)


async def test_a_rule_naming_many_unknown_channels_is_answered(tmp_path: Path, lang: str) -> None:
    """A rule naming 60 channels we do not follow got one warning line per channel: past
    4,096 characters, so the editor read "something went wrong" for a rule that was saved."""
    async with running_desk(tmp_path, lang=lang) as desk:
        channels = " OR ".join(f"from:@u{n:03d}" for n in range(60))
        (reply,) = await desk.ask(EDITOR, f"/rule add ({channels}) енергетики")
        assert (reply.text or "").startswith("✅"), reply.text
        assert len(reply.text or "") <= 4096
        assert "@u000" in (reply.text or "")
        more = desk.tr.ngettext(
            "…and {n} more channel we do not follow", "…and {n} more channels we do not follow", 55
        )
        assert more in (reply.text or "")


LOWER_OR = "'{word}' is searched as a word; to find either side, write it in capitals: {upper}"


async def test_or_in_lowercase_is_pointed_out(tmp_path: Path, lang: str) -> None:
    """ "енергетики або кордоні" looked for posts with all three words, "або" among them: "No
    posts found", and a rule that never alerts, without a word about why."""
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/search енергетики або кордоні")
        assert desk.t(LOWER_OR, word="або", upper="АБО") in (reply.text or "")
        (reply,) = await desk.ask(EDITOR, "/rule add energy or border")
        assert (reply.text or "").startswith("✅")
        assert desk.t(LOWER_OR, word="or", upper="OR") in (reply.text or "")
        (reply,) = await desk.ask(EDITOR, "/rule test енергетики или кордоні")
        assert desk.t(LOWER_OR, word="или", upper="ИЛИ") in (reply.text or "")
        # Written as meant: no hint, and a phrase's own "або" is the phrase's.
        for query in ("енергетики АБО кордоні", '"енергетики або кордоні"'):
            (reply,) = await desk.ask(JOURNALIST, f"/search {query}")
            assert desk.t(LOWER_OR, word="або", upper="АБО") not in (reply.text or "")


async def test_export_has_a_spreadsheet_that_excel_opens_in_any_locale(
    tmp_path: Path, lang: str
) -> None:
    """The CSV is comma-separated: Excel opens it by its own list separator, which is ';' on
    Ukrainian and Russian Windows, so each post landed in one cell. An .xlsx file has no
    separator to guess and no encoding to detect; its cells are text, never formulas."""
    async with running_desk(tmp_path, lang=lang) as desk:
        formula = '=HYPERLINK("http://example.invalid","дивіться") енергетики'
        await Pipeline(desk.store, alert=False).handle(
            Post("grid_ministry_demo", 77, BASE + timedelta(hours=6), formula)
        )
        replies = await desk.ask(EDITOR, "/export енергетики", replies=4)
        sheets = [m for m in replies if m.document and m.document.filename.endswith(".xlsx")]
        assert [m.document.filename for m in sheets if m.document] == ["wirewatch-export.xlsx"]
        doc = sheets[0].document
        assert doc is not None
        with zipfile.ZipFile(io.BytesIO(doc.data)) as book:
            sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
            strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        assert "<f>" not in sheet  # no cell is a formula
        texts = [html.unescape(t) for t in re.findall(r"<t[^>]*>([^<]*)</t>", strings)]
        assert formula in texts
        assert "Енергетики відновили живлення у трьох областях." in texts
        assert "https://t.me/grid_ministry_demo/77" in texts


async def test_times_with_am_and_pm(tmp_path: Path, lang: str) -> None:
    """An English-speaking journalist's "/quiet 11pm-7am" was "not a time of day"."""
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(JOURNALIST, "/quiet 11pm-7am")
        await desk.ask(JOURNALIST, "/digest 8:30 a.m.")
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        got = (person.quiet_from, person.quiet_to, person.digest_at)
        assert got == ("23:00", "07:00", "08:30")
        await desk.ask(JOURNALIST, "/digest 12am")
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None and person.digest_at == "00:00"
        (reply,) = await desk.ask(JOURNALIST, "/quiet 13pm-7am")
        problem = "not a time of day: '{value}' (use HH:MM, e.g. 07:30)"
        assert desk.t(problem, value="13pm") in (reply.text or "")


async def test_audit_reads_in_the_admins_language(tmp_path: Path, lang: str) -> None:
    """/audit listed "people.add @new_reporter → journalist" and "rules.add #1 (desk) …" to a
    Ukrainian or Russian admin: the log's own English keys, not what happened."""
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(ADMIN, "/people add @new_reporter journalist")
        await desk.ask(EDITOR, "/rule add енергетики")
        await desk.ask(EDITOR, "/rule remove 1")
        (log,) = await desk.ask(ADMIN, "/audit")
        text = log.text or ""
        english = ("(desk)", "→ journalist") if lang != "en" else ()
        for key in ("people.add", "rules.add", "rules.remove", *english):
            assert key not in text, key
        assert (
            desk.t("person added or role set") + " @new_reporter → " + desk.t("journalist") in text
        )
        assert desk.t("rule added") + " #1 (" + desk.t("desk") + ") енергетики" in text
        assert desk.t("rule removed") + " #1 енергетики" in text
