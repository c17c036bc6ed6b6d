"""What an independent black-box run broke in the bot, each staged over real HTTP against the
fake Bot API: replies under 429, groups, start-up batches, hostile links, rules with search
filters, mutes without an end. Each runs once per language (uk, en, ru: the `lang` fixture),
the expected texts looked up in the catalogue; in Ukrainian the desk fails on any English
sentence the bot showed (tests/handlers/harness.py).

Every post and name here is invented for these tests.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.desk.glossary_file import load_glossary, save_glossary
from bot.drafting.glossary import Glossary, make_entry
from bot.handlers import SORRY, access, build_dispatcher
from bot.handlers.access import REFUSAL
from bot.handlers.common import USAGE
from bot.i18n import translator
from bot.settings import BotSettings, Settings
from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.handlers.harness import (
    ADMIN,
    EDITOR,
    JOURNALIST,
    STRANGER,
    DeskBot,
    Handling,
    running_desk,
    seed,
)

GROUP = -500_100


def usage(desk: DeskBot, command: str) -> str:
    """The usage line of `command` as this desk's people read it (plain text)."""
    return desk.t("Usage: {usage}", usage=desk.t(USAGE[command]))


async def test_command_replies_wait_out_429(tmp_path: Path, lang: str) -> None:
    """An alert burst has the bot throttled: the journalist's commands are still answered."""
    commands = ["/help", "/rules", "/sources", "/start", "/mute"]
    async with running_desk(tmp_path, lang=lang) as desk:
        desk.api.flood(retry_after=1, method="sendMessage", chat_id=JOURNALIST, times=4)
        handled = desk.handling.finished + len(commands)
        for text in commands:
            await desk.api.inject_message(JOURNALIST, text)

        def answered(api: FakeBotAPI) -> bool:
            return len(api.sent_messages(JOURNALIST)) >= len(commands)

        await desk.api.wait_for(answered, within=60)
        await desk.handling.settled(handled, within=60)
        texts = [m.text or "" for m in desk.bot_messages(JOURNALIST)]
        assert desk.t(SORRY) not in texts
        assert len(texts) == len(commands)
        assert texts[0].startswith(desk.t("Commands for journalists"))
        assert len(desk.api.calls("sendMessage", ok=False)) == 4


async def test_groups_need_an_admin_to_register_them(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        refusal = desk.t(access.GROUP_REFUSAL)
        # A journalist in a group nobody registered: archive results would reach everyone.
        (r,) = await desk.ask(JOURNALIST, "/search енергетики", chat_id=GROUP)
        assert r.text == refusal
        (r,) = await desk.ask(
            JOURNALIST, "/post https://t.me/grid_ministry_demo/10", chat_id=GROUP
        )
        assert r.text == refusal
        # Plain talk in the group is not answered at all.
        await desk.send(JOURNALIST, "добрий ранок", chat_id=GROUP)
        assert len(desk.bot_messages(GROUP)) == 2
        # Only an admin registers it.
        (r,) = await desk.ask(JOURNALIST, "/deskchat on", chat_id=GROUP)
        assert r.text == refusal
        # "увімк", "вкл": the same command in either alphabet.
        (r,) = await desk.ask(ADMIN, "/deskchat увімк", chat_id=GROUP)
        now = desk.t(
            "This group is now a desk chat: people on the desk can use the bot here, and "
            "everyone in the group sees its answers."
        )
        assert r.text == "✅ " + now
        replies = await desk.ask(JOURNALIST, "/search енергетики", chat_id=GROUP)
        assert "Енергетики" in (replies[-1].text or "")
        # Registered or not, a stranger in the group is still a stranger.
        (r,) = await desk.ask(STRANGER, "/search енергетики", chat_id=GROUP)
        assert r.text == desk.t(REFUSAL)
        (r,) = await desk.ask(ADMIN, "/deskchat выкл", chat_id=GROUP)
        assert r.text == desk.t(
            "This group is no longer a desk chat; the bot will not answer here."
        )
        (r,) = await desk.ask(JOURNALIST, "/search енергетики", chat_id=GROUP)
        assert r.text == refusal
        # Private chats are decided by the person's role, as before.
        replies = await desk.ask(JOURNALIST, "/search енергетики")
        assert "Енергетики" in (replies[-1].text or "")


async def test_updates_queued_at_start_up_keep_their_order(tmp_path: Path, lang: str) -> None:
    newcomer = 7100
    store = await Store.open(tmp_path / "desk.sqlite")
    await seed(store)
    await store.people.add(role="journalist", user_id=JOURNALIST, lang=lang, tz="UTC")
    settings = Settings(db=tmp_path / "desk.sqlite", bot=BotSettings(admins=[ADMIN]), lang=lang)
    async with FakeBotAPI() as api:
        # Sent while the service was down: one batch at start-up.
        await api.inject_message(ADMIN, f"/people add {newcomer} journalist")
        await api.inject_message(newcomer, "/rules")
        await api.inject_message(JOURNALIST, "/rule add енергетики")
        await api.inject_message(JOURNALIST, "/rules")
        dp = build_dispatcher(store=store, settings=settings)
        handling = Handling()
        dp.update.outer_middleware(handling)
        bot = api.bot()
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            await api.wait_for(
                lambda a: (
                    bool(a.sent_messages(newcomer)) and len(a.sent_messages(JOURNALIST)) >= 2
                ),
                within=30,
            )
            await handling.settled(4, within=30)
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(task, 10)
            await store.close()
        tr = translator(lang)
        assert [m.text for m in api.sent_messages(newcomer)] != [tr.gettext(REFUSAL)]
        rules_reply = api.sent_messages(JOURNALIST)[-1].text or ""
        assert rules_reply.startswith(tr.gettext("Rules ({n})", n=1))
        assert "енергетики" in rules_reply


async def test_post_link_with_a_huge_id_gets_the_usual_message(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        for link in (
            "https://t.me/grid_ministry_demo/99999999999999999999",
            "t.me/grid_ministry_demo/2147483648",
        ):
            (r,) = await desk.ask(JOURNALIST, f"/post {link}")
            assert r.text != desk.t(SORRY)
            assert (r.text or "").endswith(usage(desk, "post")), r.text
        # A private channel's link: why it cannot be looked up (tests/handlers/test_busy_day).
        (r,) = await desk.ask(JOURNALIST, "/post https://t.me/c/123/99999999999999999999")
        assert r.text != desk.t(SORRY)
        assert "@username" in (r.text or "")


async def test_rule_with_a_search_filter_is_refused(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        refused = (
            "{name}: is a search filter, not part of a rule (a rule watches new posts as they "
            "arrive); use it with /search, or leave it out, at character {pos}"
        )
        (r,) = await desk.ask(JOURNALIST, "/rule add полонених since:2026-01-01")
        assert desk.t(refused, name="since", pos=10) in (r.text or "")
        # The same filter in Cyrillic is refused the same way, named as typed.
        (r,) = await desk.ask(JOURNALIST, "/rule додати полонених з:2026-01-01")
        assert desk.t(refused, name="з", pos=10) in (r.text or "")
        assert await desk.store.rules.list() == []


async def test_mute_asks_for_a_duration(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None
        (r,) = await desk.ask(JOURNALIST, "/mute @border_service_demo 0")
        assert (r.text or "").endswith(usage(desk, "mute"))
        assert await desk.store.people.muted_sources(person.id) == {}

        post = await desk.store.posts.get_by_link("grid_ministry_demo", 10)
        assert post is not None
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"mute:{post.source_id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) > before)
        # One tap does not mute: it offers durations.
        assert await desk.store.people.muted_sources(person.id) == {}
        offer = desk.bot_messages(JOURNALIST)[-1]
        assert offer.reply_markup is not None
        choices = [
            b["callback_data"] for row in offer.reply_markup["inline_keyboard"] for b in row
        ]
        assert f"mute:{post.source_id}:1d" in choices
        assert f"mute:{post.source_id}:forever" in choices
        started = datetime.now(UTC).timestamp()
        qid = await desk.press(JOURNALIST, f"mute:{post.source_id}:1d")
        answer = desk.api.callback_answers[qid]["text"]
        muted = desk.t("Muted @{channel} {until}. /unmute @{channel} to undo.")
        head = muted.partition("{until}")[0].format(channel="grid_ministry_demo")
        assert answer.startswith(head)
        until = (await desk.store.people.muted_sources(person.id))[post.source_id]
        assert until is not None
        day = timedelta(days=1).total_seconds()
        assert started + day - 60 <= until <= started + day + 60


async def test_glossary_long_values_are_refused_and_replies_fit(tmp_path: Path, lang: str) -> None:
    """A 4,090-character note was saved, and then no reply about the entry could be sent."""
    glossary = tmp_path / "glossary.toml"
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(EDITOR, "/glossary add place Київ | Kyiv | Киев | " + "x" * 4090)
        too_long = "the {lang} note is {size} characters long; at most {limit} fit in a draft"
        assert desk.t(too_long, lang="en", size=4090, limit=300) in (reply.text or "")
        assert not load_glossary(glossary).entries
        # An entry written into the file by hand (or before the limits) is still listed and
        # removed, with replies that fit in a message.
        entry = make_entry("place", {"uk": "Київ", "en": "Kyiv"}, {"en": "z" * 4090})
        save_glossary(glossary, Glossary([entry]))
        (listed,) = await desk.ask(EDITOR, "/glossary")
        assert "Kyiv" in (listed.text or "") and len(listed.text or "") < 1000
        (removed,) = await desk.ask(EDITOR, "/glossary remove Київ")
        shown = desk.t("Removed: {entry}", entry=entry.name_in(lang))
        assert (removed.text or "").startswith(shown)
        assert len(removed.text or "") < 1000
        assert not load_glossary(glossary).entries
