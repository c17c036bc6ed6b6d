"""Commands typed the way journalists type them on a phone: durations with a space, a time zone
in lower case, a post link copied from an album or a comment thread. Each one was refused with
nothing but the usage line (or an English hint in a Ukrainian reply). aiogram's real long
polling against the fake Bot API, a temp SQLite database, once per language.

Test data: invented channels and posts (tests/handlers/harness.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.handlers.access import GROUP_REFUSAL, REFUSAL
from bot.handlers.common import usage_line
from tests.fakebot import FakeBotAPI, Message
from tests.handlers.harness import ADMIN, EDITOR, JOURNALIST, STRANGER, DeskBot, running_desk

# What a person of each language types for "three days" and "two weeks".
SPACED = {
    "uk": [("3 дні", 3), ("2 тижні", 14), ("5 днів", 5)],
    "ru": [("3 дня", 3), ("2 недели", 14), ("5 дней", 5)],
    "en": [("3 days", 3), ("2 weeks", 14), ("1 d", 1)],
}


async def test_a_duration_typed_with_a_space_mutes_for_that_long(
    tmp_path: Path, lang: str
) -> None:
    # `/mute @channel 3 дні` is what README promises; the handler took "3" and "дні" for two
    # arguments too many and answered only with the usage line.
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed, days in SPACED[lang]:
            before = datetime.now(UTC)
            (reply,) = await desk.ask(JOURNALIST, f"/mute @grid_ministry_demo {typed}")
            assert (reply.text or "").startswith("🔇"), (typed, reply.text)
            person = await desk.store.people.by_user_id(JOURNALIST)
            assert person is not None
            (until,) = (await desk.store.people.muted_sources(person.id)).values()
            assert until is not None
            wanted = (before + timedelta(days=days)).timestamp()
            assert abs(until - wanted) < 300, typed
        # Words that are no duration are refused as one, quoted as typed, over the usage line.
        (reply,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo 3 дні і ще")
        refusal = desk.t(
            "not a duration: '{value}' (use 30m, 2h, 1d, 1w or forever)", value="3 дні і ще"
        )
        usage = desk.t("Usage: {usage}", usage=usage_line("mute", desk.tr))
        assert reply.text == f"{refusal}\n{usage}"


async def test_a_refused_duration_suggests_units_in_the_readers_alphabet(
    tmp_path: Path, lang: str
) -> None:
    # The Ukrainian and Russian hints listed "1w" among Cyrillic units; the usage line below
    # them said 1тиж / 1нед.
    week = {"uk": "1тиж", "ru": "1нед", "en": "1w"}[lang]
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo 0")
        problem = (reply.text or "").split("\n")[0]
        assert week in problem, problem
        if lang != "en":
            assert "1w" not in problem, problem


async def test_a_time_zone_in_any_case_or_by_its_city_is_understood(
    tmp_path: Path, lang: str
) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed, zone in [
            ("europe/kyiv", "Europe/Kyiv"),
            ("EUROPE/LONDON", "Europe/London"),
            ("Warsaw", "Europe/Warsaw"),
            ("new_york", "America/New_York"),
            ("utc", "UTC"),
        ]:
            (reply,) = await desk.ask(JOURNALIST, f"/tz {typed}")
            assert reply.text == desk.t("Times are now shown in {zone}.", zone=zone), typed
            person = await desk.store.people.by_user_id(JOURNALIST)
            assert person is not None and person.tz == zone
        # A city in two zones' names is not guessed, nor is a zone that does not exist.
        for typed in ("Mars/Base", "kyi"):
            (reply,) = await desk.ask(JOURNALIST, f"/tz {typed}")
            assert desk.t("unknown time zone '{value}' (e.g. Europe/Kyiv, UTC)", value=typed) in (
                reply.text or ""
            )


async def test_post_links_copied_from_telegram_open_the_post(tmp_path: Path, lang: str) -> None:
    # "Copy link" on a photo of an album gives ...?single; a comment's link carries ?comment=;
    # both were "not a link to a Telegram post".
    async with running_desk(tmp_path, lang=lang) as desk:
        for link in (
            "https://t.me/grid_ministry_demo/11?single",
            "https://t.me/grid_ministry_demo/11?comment=3",
            "t.me/grid_ministry_demo/11?embed=1&mode=tme",
            "https://t.me/grid_ministry_demo/11#comments",
        ):
            body, draft = await desk.ask(JOURNALIST, f"/post {link}", replies=2)
            assert "https://t.me/grid_ministry_demo/11" in (body.text or ""), link
            assert (draft.text or "").startswith("📝"), link
        # A channel link without a post number is still refused, with the reason.
        (reply,) = await desk.ask(JOURNALIST, "/post https://t.me/grid_ministry_demo?single")
        assert desk.t(
            "not a link to a Telegram post: {text}",
            text="https://t.me/grid_ministry_demo?single",
        ) in (reply.text or "")


async def test_a_rule_that_would_flood_or_never_fire_says_so_when_saved(
    tmp_path: Path, lang: str
) -> None:
    # A journalist saved `енергосистема` on a desk whose energy channel says it in every
    # bulletin and was alerted for every post with no word of warning; an editor mistyped a
    # channel in from: and the rule was saved as if fine, to stay silent for good.
    async with running_desk(tmp_path, lang=lang, extra_posts=30) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/rule add енергосистема")
        text = reply.text or ""
        assert text.startswith("✅"), text
        rule = (await desk.store.rules.list())[-1]
        flood = desk.tr.ngettext(
            "It matches {hits} of the last {n} post: you will get an alert for most posts.",
            "It matches {hits} of the last {n} posts: you will get an alert for most posts.",
            34,
            hits=30,
        )
        undo = desk.t("/rule remove {id} takes it back.", id=rule.id)
        assert f"⚠️ {flood} {undo}" in text, text

        # A desk rule warns that everyone will be flooded.
        (reply,) = await desk.ask(EDITOR, "/rule add енергосистема OR кордон")
        everyone = desk.tr.ngettext(
            "It matches {hits} of the last {n} post: everyone on the desk will get an alert "
            "for most posts.",
            "It matches {hits} of the last {n} posts: everyone on the desk will get an alert "
            "for most posts.",
            34,
            hits=31,
        )
        assert everyone in (reply.text or ""), reply.text

        # A narrow rule, on a channel we follow, is saved without a word more.
        (reply,) = await desk.ask(EDITOR, "/rule add кордон from:@border_service_demo")
        assert "⚠️" not in (reply.text or "") and (reply.text or "").startswith("✅")

        # A channel we do not follow is named; the rule is saved all the same.
        (reply,) = await desk.ask(EDITOR, "/rule add from:@grid_ministy_demo кордон")
        silent = desk.t(
            "We do not follow @{channel}: the rule stays silent until an editor adds it with "
            "/watch.",
            channel="grid_ministy_demo",
        )
        assert f"⚠️ {silent}" in (reply.text or ""), reply.text
        assert (await desk.store.rules.list())[-1].query == "from:@grid_ministy_demo кордон"

        # The same rule again is not new: nothing to warn about twice.
        (reply,) = await desk.ask(JOURNALIST, "/rule add енергосистема")
        assert "⚠️" not in (reply.text or "")


async def _only_reply_is_to_the_last(
    desk: DeskBot, chat: int, silent: list[tuple[int, str]], last: tuple[int, str]
) -> Message:
    """Send `silent` (nothing may answer them), then `last`; the chat's one new message is the
    answer to `last` (a person's updates are handled in order, so earlier answers come first)."""
    before = len(desk.bot_messages(chat))
    handled = desk.handling.finished + len(silent) + 1
    for user, text in silent:
        desk.typed.append(text)
        await desk.api.inject_message(user, text, chat_id=chat)
    (reply,) = await desk.ask(last[0], last[1], chat_id=chat)
    await desk.handling.settled(handled)
    assert desk.bot_messages(chat)[before:] == [reply], [
        m.text for m in desk.bot_messages(chat)[before:]
    ]
    return reply


async def test_in_a_group_the_bot_answers_only_what_is_meant_for_it(
    tmp_path: Path, lang: str
) -> None:
    # A desk group is where people talk, with other bots in it: every remark got "Send a
    # command", every other bot's command "Unknown command", and in a group that is not a desk
    # chat another bot's /start@its_bot got the long "not a desk chat" notice.
    desk_group, other_group = -100_500, -100_600
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=desk_group)
        talk = [
            (JOURNALIST, "Хто вже бачив заяву міністерки про графіки?"),
            (EDITOR, "/ban@group_guard_bot"),
            (JOURNALIST, "/start@group_guard_bot"),
            (JOURNALIST, "/warn"),
            (STRANGER, "/search@group_guard_bot енергетики"),
        ]
        reply = await _only_reply_is_to_the_last(
            desk, desk_group, talk, (JOURNALIST, "/search@wirewatch_test_bot енергетики")
        )
        assert "https://t.me/grid_ministry_demo/10" in (reply.text or "")
        # Our own commands are still answered there, refusals included.
        reply = await _only_reply_is_to_the_last(desk, desk_group, talk, (EDITOR, "/people"))
        assert reply.text == desk.t(
            "/{command} is for the role {role} and above; /help lists your commands.",
            command="people",
            role=desk.t("admin"),
        )
        reply = await _only_reply_is_to_the_last(desk, desk_group, talk, (STRANGER, "/search x"))
        assert reply.text == desk.t(REFUSAL)

        # Naming the bot is talking to it: the hint, not silence.
        reply = await _only_reply_is_to_the_last(
            desk, desk_group, talk, (JOURNALIST, "@wirewatch_test_bot що ти вмієш?")
        )
        assert reply.text == desk.t("Send a command: /help lists them, /search finds posts.")

        # A group that is not a desk chat: silence for other bots' commands, the notice for
        # ours.
        reply = await _only_reply_is_to_the_last(
            desk, other_group, talk, (JOURNALIST, "/search енергетики")
        )
        assert reply.text == desk.t(GROUP_REFUSAL)

        # In a private chat an unknown command is still answered: it can only be for us.
        (reply,) = await desk.ask(JOURNALIST, "/warn")
        assert reply.text == desk.t("Unknown command; /help lists your commands.")


async def test_refusals_name_fields_and_kinds_in_the_readers_language(
    tmp_path: Path, lang: str
) -> None:
    # "⚠️ person: довше за 200 символів" and "тип має бути одним із person, place,
    # institution": the words an editor has to type back were English in every language.
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(EDITOR, "/watch @abcd_channel " + "Посада " * 40 + "| роль")
        assert reply.text == "⚠️ " + desk.t(
            "the person's name is longer than {n} characters", n=200
        )
        (reply,) = await desk.ask(EDITOR, "/watch @abcd_channel Особа | " + "Роль " * 50)
        assert reply.text == "⚠️ " + desk.t("the role is longer than {n} characters", n=200)
        # "/watch @x A | B | C": the role was "B | C"; now the extra "|" is refused and
        # nothing is followed.
        (reply,) = await desk.ask(EDITOR, "/watch @abcd_channel Особа | Роль | Ще")
        assert (reply.text or "").startswith(
            desk.t("Write one '|' between the person and the role, not {n}.", n=2)
        )
        (reply,) = await desk.ask(EDITOR, "/sources")
        assert "abcd_channel" not in (reply.text or "")
        (reply,) = await desk.ask(EDITOR, "/glossary add thing А | B | C")
        kinds = ", ".join(desk.t(k) for k in ("person", "place", "institution"))
        assert desk.t("kind must be one of {kinds}, not '{kind}'", kinds=kinds, kind="thing") in (
            reply.text or ""
        )
        # The kinds it names are the words it takes.
        for kind in kinds.split(", "):
            (reply,) = await desk.ask(EDITOR, f"/glossary add {kind} Ім'я {kind} | Name {kind}")
            assert not (reply.text or "").startswith("⚠️") and "|" not in (reply.text or "")


async def test_times_of_day_as_people_write_them(tmp_path: Path, lang: str) -> None:
    # Ukrainian and Russian text writes 23.00, people type the hour alone, and `/digest 08:30`
    # means the daily digest: each was refused with the usage line.
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed, window in [
            ("23.00-07.00", ("23:00", "07:00")),
            ("22-6", ("22:00", "06:00")),
            ("23:30 – 7", ("23:30", "07:00")),
        ]:
            (reply,) = await desk.ask(JOURNALIST, f"/quiet {typed}")
            assert (reply.text or "").startswith("🌙"), (typed, reply.text)
            person = await desk.store.people.by_user_id(JOURNALIST)
            assert person is not None and (person.quiet_from, person.quiet_to) == window
        for typed in ("8.30", "08:30", "щодня 8.30", "daily 8"):
            (reply,) = await desk.ask(JOURNALIST, f"/digest {typed}")
            at = "08:00" if typed.endswith(" 8") else "08:30"
            assert reply.text == "🗞 " + desk.t(
                "Daily digest at {time} ({zone}).", time=at, zone="UTC"
            ), typed
        # Still refused: minutes out of range, a 24th hour, three numbers.
        for typed in ("23.75-07", "24-07", "23:00:00-07:00"):
            (reply,) = await desk.ask(JOURNALIST, f"/quiet {typed}")
            assert not (reply.text or "").startswith("🌙"), typed


async def test_rules_say_which_are_yours(tmp_path: Path, lang: str) -> None:
    # A journalist's own rule was listed as "#2 [7003] кордон": their Telegram id, a number
    # they never saw, where "yours" was meant.
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(EDITOR, "/rule add енергетики")
        await desk.ask(JOURNALIST, "/rule add кордон", first_name="Мирослава")
        (listed,) = await desk.ask(JOURNALIST, "/rules", first_name="Мирослава")
        lines = (listed.text or "").splitlines()
        assert lines[1:] == [f"#1 [{desk.t('desk')}] енергетики", f"#2 [{desk.t('yours')}] кордон"]
        assert str(JOURNALIST) not in (listed.text or "")
        # An editor reading every rule sees whose it is: by name, once the person has written.
        (listed,) = await desk.ask(EDITOR, "/rules")
        assert "#2 [Мирослава] кордон" in (listed.text or "")


async def test_admin_usage_lines_show_the_words_of_the_readers_language(
    tmp_path: Path, lang: str
) -> None:
    # Every other usage line reads "/rule додати …" in Ukrainian; /people and /deskchat still
    # said "add <admin|editor|journalist>" and "on|off". The words they show must also work.
    words = {
        "uk": ("додати", "видалити", "журналіст", "увімк", "вимк"),
        "ru": ("добавить", "удалить", "журналист", "вкл", "выкл"),
        "en": ("add", "remove", "journalist", "on", "off"),
    }[lang]
    add, remove, journalist, on, off = words
    async with running_desk(tmp_path, lang=lang) as desk:
        (people,) = await desk.ask(ADMIN, "/people add")
        (chats,) = await desk.ask(ADMIN, "/deskchat maybe")
        for reply, shown in ((people, (add, remove, journalist)), (chats, (on, off))):
            usage = (reply.text or "").splitlines()[-1]
            for word in shown:
                assert word in usage, (word, usage)
            if lang != "en":
                english = {"add", "remove", "admin", "editor", "journalist", "on", "off"}
                assert not english & set(re.split(r"[\s|<>()]+", usage)), usage
        (added,) = await desk.ask(ADMIN, f"/people {add} 8001 {journalist}")
        assert (added.text or "").startswith("✅"), added.text
        (removed,) = await desk.ask(ADMIN, f"/people {remove} 8001")
        assert (removed.text or "").startswith("🗑"), removed.text
        (group,) = await desk.ask(ADMIN, f"/deskchat {on}", chat_id=-100_700)
        assert (group.text or "").startswith("✅"), group.text
        (listed,) = await desk.ask(ADMIN, f"/deskchat {off} -100700")
        assert "-100700" in (listed.text or "")


async def test_a_colleague_paging_a_search_in_a_desk_group_is_told_whose_it_is(
    tmp_path: Path, lang: str
) -> None:
    # In a desk group an editor pressed "Older ›" under a journalist's search and read "This
    # search has expired; run /search again.", which it had not: it is the journalist's (the
    # page is drawn in its owner's language and time zone).
    group = -100_900
    async with running_desk(tmp_path, lang=lang, extra_posts=8) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=group)
        (page,) = await desk.ask(JOURNALIST, "/search енергосистема", chat_id=group)
        assert page.reply_markup is not None
        data = page.reply_markup["inline_keyboard"][0][0]["callback_data"]
        qid = await desk.api.inject_callback(
            EDITOR, data, message_id=page.message_id, chat_id=group
        )
        await desk.api.wait_for(lambda a: qid in a.callback_answers)
        answer = desk.api.callback_answers[qid].get("text")
        assert answer == desk.t(
            "Only the person who ran this search can turn its pages; send /search yourself."
        )
        # Its owner still can.
        qid = await desk.api.inject_callback(
            JOURNALIST, data, message_id=page.message_id, chat_id=group
        )
        second = desk.t("page {n}", n=2)

        def turned(api: FakeBotAPI) -> bool:
            shown = api.find_message(group, page.message_id)
            return shown is not None and second in (shown.text or "")

        await desk.api.wait_for(turned)


async def _send_raw(
    desk: DeskBot, user: int, extra: dict[str, Any], replies: int
) -> list[Message]:
    """A private message from `user` with fields the fake's helpers do not set (a forward)."""
    before = len(desk.bot_messages(user))
    data = {
        "message_id": 9000 + before,
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": user, "type": "private", "first_name": f"User{user}"},
        "from": desk.api.user(user),
        **extra,
    }
    handled = desk.handling.finished + 1
    await desk.api.inject_update({"message": data})
    await desk.api.wait_for(lambda a: len(desk.bot_messages(user)) >= before + replies)
    await desk.handling.settled(handled)
    return desk.bot_messages(user)[before:]


async def test_a_forwarded_post_or_a_bare_link_opens_the_post(tmp_path: Path, lang: str) -> None:
    # What a journalist does with a post seen in Telegram: forward it to the bot, or paste its
    # link. Both got "Send a command"; they mean /post.
    async with running_desk(tmp_path, lang=lang) as desk:
        forward = {
            "text": "Графіки відключень у Києві скасовано до ранку.",
            "forward_origin": {
                "type": "channel",
                "date": int(datetime(2025, 12, 3, 10, 0, tzinfo=UTC).timestamp()),
                "chat": {
                    "id": -1001300500,
                    "type": "channel",
                    "title": "Міненерго (тест)",
                    "username": "Grid_Ministry_Demo",
                },
                "message_id": 11,
            },
        }
        body, draft = await _send_raw(desk, JOURNALIST, forward, replies=2)
        assert "https://t.me/grid_ministry_demo/11" in (body.text or "")
        assert (draft.text or "").startswith("📝")

        body, draft = await desk.ask(
            JOURNALIST, "https://t.me/border_service_demo/20?single", replies=2
        )
        assert "https://t.me/border_service_demo/20" in (body.text or "")
        assert (draft.text or "").startswith("📝")

        # A post we never stored says so, with its link.
        (reply,) = await desk.ask(JOURNALIST, "t.me/grid_ministry_demo/999")
        link = "https://t.me/grid_ministry_demo/999"
        assert reply.text == "⚠️ " + desk.t("no stored post at {link}", link=link)
        forward["forward_origin"]["message_id"] = 998  # type: ignore[index]
        (reply,) = await _send_raw(desk, JOURNALIST, forward, replies=1)
        link = "https://t.me/grid_ministry_demo/998"
        assert reply.text == "⚠️ " + desk.t("no stored post at {link}", link=link)

        # Other text is still not a command.
        (reply,) = await desk.ask(JOURNALIST, "подивіться https://t.me/grid_ministry_demo/11")
        assert reply.text == desk.t("Send a command: /help lists them, /search finds posts.")


async def test_a_date_range_written_backwards_is_refused_with_the_reason(
    tmp_path: Path, lang: str
) -> None:
    # `since:` after `until:` answered "No posts found.", as if the archive held nothing then.
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(
            JOURNALIST, "/search енергетики since:2025-12-03 until:2025-12-02"
        )
        assert (reply.text or "").startswith(
            desk.t(
                "since: {since} is after until: {until}", since="2025-12-03", until="2025-12-02"
            )
        ), reply.text
        # One day, both ends the same, is a range.
        (reply,) = await desk.ask(
            JOURNALIST, "/search енергетики since:2025-12-03 until:2025-12-03"
        )
        assert "https://t.me/grid_ministry_demo/10" in (reply.text or "")


async def test_a_mute_says_in_which_zone_it_ends(tmp_path: Path, lang: str) -> None:
    # "/quiet" and "/digest" name the zone their times are in; a mute's end did not, and a
    # journalist whose /tz differs from the phone's read the wrong hour.
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo 2h")
        assert (reply.text or "").endswith(" (UTC)."), reply.text
        (listed,) = await desk.ask(JOURNALIST, "/mute")
        assert (listed.text or "").endswith(" (UTC)"), listed.text
