"""Everyone on the desk: /start, /help, preferences, rules, the source list, the mute button."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.desk.desk import RANK, RULE_TEST_POSTS, Desk
from bot.desk.inputs import DeskError, clip, parse_duration
from bot.desk.search import LOWERCASE_OR, lowercase_or
from bot.desk.words import DAILY_WORDS, OFF_WORDS, ON_WORDS, RULE_VERBS
from bot.drafting.excerpts import snippet_runs
from bot.drafting.html import Run, escape, join_runs
from bot.handlers.access import MinRole
from bot.handlers.common import (
    ROLE_NAMES,
    allowed,
    answer_runs,
    answer_usage,
    desk_or_usage,
    lines,
    replace_runs,
    reply_target,
    usage_line,
)
from bot.handlers.menu import refresh_menu
from bot.i18n import N_, Translator, translator
from storage.models import Person, Rule, Source

# What a mute button offers: a mute always has an end unless the journalist picks "forever".
MUTE_CHOICES = (
    (N_("1 hour"), "1h"),
    (N_("8 hours"), "8h"),
    (N_("1 day"), "1d"),
    (N_("1 week"), "1w"),
    (N_("forever"), "forever"),
)


def mute_choices(source: Source, tr: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=tr.gettext(label), callback_data=f"mute:{source.id}:{code}")
        for label, code in MUTE_CHOICES
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:3], buttons[3:]])


_ROLE_INTRO = {
    "journalist": N_(
        "You get alerts with ready-to-paste drafts when officials' channels post what your "
        "desk follows, and you can search the archive."
    ),
    "editor": N_(
        "You run the desk: sources, rules and the archive; everyone gets alerts by the rules "
        "you set."
    ),
    "admin": N_("You administer the desk: people and roles, besides everything editors do."),
}
_HELP_TITLE = {
    "journalist": N_("Commands for journalists"),
    "editor": N_("Commands for editors"),
    "admin": N_("Commands for admins"),
}
# What /search takes besides words (bot.desk.search): the traps a search used to answer with
# silence.
_HELP_SEARCH = N_(
    "Searching:\n"
    "• from:@a from:@b: posts of either channel; -from:@a: all but that channel's\n"
    "• since: and until: take 2025-11-01, 01.11.2025, today, yesterday, or a span back from "
    "now: since:7d is the last seven days\n"
    "• a search may only leave out: -from:@a since:yesterday"
)
# How commands can be typed in either alphabet (the parsers accept all of these).
_HELP_ALPHABETS = N_(
    "Typed in either alphabet:\n"
    "• rules and /search: OR = АБО = ИЛИ, AND = ТА = І = И, NOT = НЕ = -word; from: = від: = "
    "от:, since: = з: = с:, until: = до:, edited: = змінено: = изменено:, deleted: = "
    "видалено: = удалено:\n"
    "• durations: 30m = 30хв = 30мин, 2h = 2год = 2ч, 1d = 1д = 1дн, 1w = 1тиж = 1нед, "
    "forever = назавжди = навсегда\n"
    "• on = увімк = вкл, off = вимк = выкл; yes = так = да, no = ні = нет; daily = щодня = "
    "ежедневно\n"
    "• add = додати = добавить, remove = видалити = удалить, my = моє = мое, test = "
    "перевірити = проверить\n"
    "• uk = укр, en = англ, ru = рус; journalist = журналіст, editor = редактор, admin = адмін"
)
_LANG_NAMES = {"uk": "українська", "en": "English", "ru": "русский"}


def _until(moment: datetime | None, person: Person, tr: Translator) -> str:
    if moment is None:
        return tr.gettext("until you unmute it")
    from zoneinfo import ZoneInfo

    # The zone named, as /quiet and /digest do: a /tz other than the phone's misled.
    local = moment.astimezone(ZoneInfo(person.tz)).strftime("%Y-%m-%d %H:%M")
    when = local + " (" + person.tz + ")"
    return tr.gettext("until {time}", time=when)


def rule_line(rule: Rule, people: dict[int, Person], tr: Translator, viewer: Person) -> str:
    if rule.owner_id is None:
        owner = tr.gettext("desk")
    elif rule.owner_id == viewer.id:
        owner = tr.gettext("yours")  # not their own Telegram id, which they never see
    else:
        owner = people[rule.owner_id].label if rule.owner_id in people else tr.gettext("someone")
    return f"#{rule.id} [{owner}] {clip(rule.query, 200)}"


def journalist_router() -> Router:
    router = Router(name="journalist")
    router.message.filter(MinRole("journalist"))
    router.callback_query.filter(MinRole("journalist"))

    @router.message(CommandStart())
    async def start(message: Message, person: Person, tr: Translator) -> None:
        role = tr.gettext(ROLE_NAMES[person.role])
        intro = tr.gettext(_ROLE_INTRO[person.role])
        bold_role = f"<b>{escape(role)}</b>"
        hint = tr.gettext("/help lists your commands; /lang uk|en|ru changes the language.")
        await message.answer(
            "👋 wirewatch · "
            + tr.gettext("role: {role}", role=bold_role)
            + f"\n{escape(intro)}\n\n{escape(hint)}",
            parse_mode="HTML",
        )

    @router.message(Command("help"))
    async def help_(message: Message, person: Person, tr: Translator) -> None:
        runs: list[Run] = [Run(tr.gettext(_HELP_TITLE[person.role]), "b")]
        for name, _, _, text in allowed(person):
            runs = join_runs(
                runs, "\n", [Run(usage_line(name, tr), "code")], f" · {tr.gettext(text)}"
            )
        runs = join_runs(runs, "\n\n", tr.gettext(_HELP_SEARCH))
        runs = join_runs(runs, "\n\n", tr.gettext(_HELP_ALPHABETS))
        await answer_runs(message, runs)

    # -- preferences -------------------------------------------------------------------------

    @router.message(Command("lang"))
    async def lang(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        if not (command.args or "").strip():
            now = tr.gettext("Your language: {lang}.", lang=_LANG_NAMES[person.lang])
            await answer_usage(message, "lang", tr, now)
            return
        fresh = await desk_or_usage(message, "lang", tr, desk.set_lang(person, command.args or ""))
        if fresh is None:
            return
        await refresh_menu(message.bot, fresh)
        new_tr = translator(fresh.lang)  # the answer is already in the new language
        await message.answer(
            new_tr.gettext(
                "The bot, your drafts and digests are now in {lang}.",
                lang=_LANG_NAMES[fresh.lang],
            )
        )

    @router.message(Command("tz"))
    async def tz(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        if not (command.args or "").strip():
            now = tr.gettext("Your time zone is {zone}.", zone=person.tz)
            await answer_usage(message, "tz", tr, now)
            return
        fresh = await desk_or_usage(message, "tz", tr, desk.set_tz(person, command.args or ""))
        if fresh is None:
            return
        await message.answer(tr.gettext("Times are now shown in {zone}.", zone=fresh.tz))

    @router.message(Command("mute"))
    async def mute(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        parts = (command.args or "").split()
        if not parts:
            muted = await desk.mutes(person)
            if not muted:
                await answer_usage(message, "mute", tr, tr.gettext("Nothing is muted."))
                return
            # In as many messages as it takes: a desk with hundreds of channels may have a
            # journalist muting more than one message holds.
            runs: list[Run] = [Run("🔇 " + tr.gettext("Muted:"))]
            for muted_src, until in muted:
                line = f"@{muted_src.username} {_until(until, person, tr)}"
                runs = join_runs(runs, "\n", line)
            await answer_runs(message, runs)
            return
        if len(parts) > 2:
            # A duration may be typed with a space ("3 дні", "2 weeks"): the words after the
            # channel are one duration, and parse_duration refuses what is not one.
            parts = [parts[0], " ".join(parts[1:])]
        if len(parts) == 1:
            # No duration: ask for one rather than mute for ever by default.
            src = await desk_or_usage(message, "mute", tr, desk.source(parts[0]))
            if src is not None:
                await message.answer(
                    tr.gettext("Mute @{channel} for how long?", channel=src.username),
                    reply_markup=mute_choices(src, tr),
                )
            return
        muting = desk.mute(person, parts[0], parts[1])
        done = await desk_or_usage(message, "mute", tr, muting)
        if done is None:
            return
        src, until = done
        await message.answer(
            "🔇 "
            + tr.gettext(
                "@{channel} muted {until}.", channel=src.username, until=_until(until, person, tr)
            )
        )

    @router.message(Command("unmute"))
    async def unmute(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        parts = (command.args or "").split()
        if len(parts) != 1:
            await answer_usage(message, "unmute", tr)
            return
        done = await desk_or_usage(message, "unmute", tr, desk.unmute(person, parts[0]))
        if done is None:
            return
        src, was_muted = done
        if not was_muted:
            await message.answer(
                tr.gettext(
                    "@{channel} was not muted: its alerts already reach you.",
                    channel=src.username,
                )
            )
            return
        await message.answer(
            "🔔 " + tr.gettext("Alerts from @{channel} again.", channel=src.username)
        )

    @router.message(Command("quiet"))
    async def quiet(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        arg = (command.args or "").strip()
        if not arg:
            now = (
                tr.gettext(
                    "Your quiet hours: {start}-{end}.",
                    start=person.quiet_from,
                    end=person.quiet_to,
                )
                if person.quiet_from
                else tr.gettext("No quiet hours set.")
            )
            await answer_usage(message, "quiet", tr, now)
            return
        fresh = await desk_or_usage(message, "quiet", tr, desk.set_quiet(person, arg))
        if fresh is None:
            return
        if fresh.quiet_from:
            await message.answer(
                "🌙 "
                + tr.gettext(
                    "Quiet hours {start}-{end} ({zone}): alerts are held and arrive as one "
                    "digest when they end.",
                    start=fresh.quiet_from,
                    end=fresh.quiet_to,
                    zone=fresh.tz,
                )
            )
        else:
            await message.answer(tr.gettext("Quiet hours off."))

    @router.message(Command("digest"))
    async def digest(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        parts = (command.args or "").split()
        if len(parts) == 1 and parts[0].lower() in OFF_WORDS:
            await desk.set_digest(person, "off")
            await message.answer(tr.gettext("Daily digest off."))
            return
        if parts and parts[0][:1].isdigit():
            parts = ["daily", *parts]  # `/digest 08:30`: there is only the daily digest
        if len(parts) > 2:
            parts = [parts[0], " ".join(parts[1:])]  # `8:30 a.m.`: one time, with a space
        if len(parts) != 2 or parts[0].lower() not in DAILY_WORDS:
            await answer_usage(message, "digest", tr)
            return
        fresh = await desk_or_usage(message, "digest", tr, desk.set_digest(person, parts[1]))
        if fresh is None:
            return
        await message.answer(
            "🗞 "
            + tr.gettext("Daily digest at {time} ({zone}).", time=fresh.digest_at, zone=fresh.tz)
        )

    @router.message(Command("pause", "resume"))
    async def pause(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        arg = (command.args or "").strip().lower()
        if command.command == "resume":
            arg = "off"
        if arg and arg not in ON_WORDS and arg not in OFF_WORDS:
            await answer_usage(message, "pause", tr)
            return
        paused = (not person.paused) if arg == "" else arg in ON_WORDS
        await desk.set_paused(person, paused)
        await message.answer(
            "⏸ " + tr.gettext("Alerts paused; /pause again to resume.")
            if paused
            else "▶️ " + tr.gettext("Alerts resumed.")
        )

    # -- sources (read) and rules --------------------------------------------------------------

    @router.message(Command("sources"))
    async def sources(message: Message, person: Person, desk: Desk, tr: Translator) -> None:
        items = await desk.sources()
        if not items:
            text = tr.gettext("No sources yet.")
            if RANK[person.role] >= RANK["editor"]:
                text += " " + tr.gettext("Add one with /watch @username.")
            await message.answer(text)
            return
        runs: list[Run] = [Run(tr.gettext("Sources ({n})", n=len(items)), "b")]
        for s in items:
            who = " · ".join(x for x in (s.person_in(person.lang), s.role_in(person.lang)) if x)
            state = "" if s.active else " " + tr.gettext("(not followed)")
            err = f" ⚠️ {tr.note(s.error)}" if s.error else ""
            line = " ".join(x for x in (f"@{s.username}{state}", who) if x) + err
            runs = join_runs(runs, "\n", line)
        await answer_runs(message, runs)

    @router.message(Command("rules"))
    async def rules(message: Message, person: Person, desk: Desk, tr: Translator) -> None:
        items = await desk.rules(viewer=person)
        if not items:
            await answer_usage(message, "rule", tr, tr.gettext("No rules yet."))
            return
        people = {p.id: p for p in await desk.people()}
        runs: list[Run] = [Run(tr.gettext("Rules ({n})", n=len(items)), "b")]
        for r in items:
            runs = join_runs(runs, "\n", rule_line(r, people, tr, person))
        await answer_runs(message, runs)

    @router.message(Command("rule"))
    async def rule(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        args = (command.args or "").strip()
        verb, _, rest = args.partition(" ")
        verb = RULE_VERBS.get(verb.lower(), "")
        rest = rest.strip()
        if not verb or not rest:
            await answer_usage(message, "rule", tr)
            return
        try:
            if verb in ("add", "my"):
                # Editors' rules belong to the desk; `my` (and every journalist's) to the person.
                desk_rule = verb == "add" and RANK[person.role] >= RANK["editor"]
                created_rule, created = await desk.add_rule(
                    rest,
                    owner=None if desk_rule else person,
                    actor=message.from_user.id if message.from_user else None,
                )
                query = f"<code>{escape(clip(created_rule.query, 300))}</code>"
                if created_rule.owner_id is None:
                    text = (
                        tr.gettext(
                            "Desk rule #{id} added: {query}", id=created_rule.id, query=query
                        )
                        if created
                        else tr.gettext(
                            "Desk rule #{id} already exists: {query}",
                            id=created_rule.id,
                            query=query,
                        )
                    )
                else:
                    text = (
                        tr.gettext(
                            "Your rule #{id} added: {query}", id=created_rule.id, query=query
                        )
                        if created
                        else tr.gettext(
                            "Your rule #{id} already exists: {query}",
                            id=created_rule.id,
                            query=query,
                        )
                    )
                if created:
                    text += await _reach_notes(desk, created_rule, tr)
                await message.answer("✅ " + text, parse_mode="HTML")
            elif verb == "remove":
                rule_id = await desk.parse_rule_id(rest)
                removed = await desk.remove_rule(
                    rule_id, by=person, actor=message.from_user.id if message.from_user else None
                )
                query = f"<code>{escape(clip(removed.query, 300))}</code>"
                await message.answer(
                    "🗑 " + tr.gettext("Rule #{id} removed: {query}", id=removed.id, query=query),
                    parse_mode="HTML",
                )
            else:
                await _test(message, desk, rest, tr)
        except DeskError as exc:
            await answer_usage(message, "rule", tr, tr.error(exc))

    @router.callback_query(lambda q: (q.data or "").startswith("mute:"))
    async def mute_button(
        query: CallbackQuery, person: Person, desk: Desk, tr: Translator
    ) -> None:
        m = re.fullmatch(r"mute:(\d{1,12})(?::(\w{1,8}))?", query.data or "")
        src = await desk.store.sources.get(int(m.group(1))) if m else None
        if m is None or src is None:
            await query.answer(tr.gettext("That source is no longer known."), show_alert=True)
            return
        if m.group(2) is None:
            # The alert's button: one tap asks how long, it never mutes for ever by itself.
            await query.answer()
            bot, chat_id = reply_target(query)
            await bot.send_message(
                chat_id,
                tr.gettext("Mute @{channel} for how long?", channel=src.username),
                reply_markup=mute_choices(src, tr),
            )
            return
        try:
            delta = parse_duration(m.group(2))
        except DeskError:
            await query.answer(tr.gettext("This button is no longer available."), show_alert=True)
            return
        until = await desk.mute_id(person, src.id, delta, now=datetime.now(UTC))
        text = tr.gettext(
            "Muted @{channel} {until}. /unmute @{channel} to undo.",
            channel=src.username,
            until=_until(until, person, tr),
        )
        asked = query.message
        if isinstance(asked, Message) and asked.chat.type == "private":
            # The question becomes its answer: left standing with its buttons, it read as
            # still open once the pop-up was gone.
            await query.answer()
            await asked.edit_text("🔇 " + text, reply_markup=None)
            return
        # In a group the question is everyone's, the mute the presser's own.
        await query.answer(text[:200], show_alert=True)

    return router


# Channels of a new rule we do not follow, named one a line; the rest are counted.
_UNKNOWN_NAMED = 5


async def _reach_notes(desk: Desk, rule: Rule, tr: Translator) -> str:
    """Warnings under a rule just saved (HTML): a from: channel we do not follow, and a rule
    that matches most recent posts, before it floods the people it alerts."""
    reach = await desk.rule_reach(rule.query)
    notes = [
        tr.gettext(
            "We do not follow @{channel}: the rule stays silent until an editor adds it with "
            "/watch.",
            channel=name,
        )
        for name in reach.unknown[:_UNKNOWN_NAMED]
    ]
    if len(reach.unknown) > _UNKNOWN_NAMED:
        # One line per channel went past one message: the reply failed, the rule was saved.
        rest = len(reach.unknown) - _UNKNOWN_NAMED
        notes.append(
            tr.ngettext(
                "…and {n} more channel we do not follow",
                "…and {n} more channels we do not follow",
                rest,
            )
        )
    lowered = lowercase_or(rule.query)
    if lowered is not None:
        notes.append(tr.gettext(LOWERCASE_OR, word=lowered[0], upper=lowered[1]))
    if reach.floods:
        whom = (
            tr.ngettext(
                "It matches {hits} of the last {n} post: everyone on the desk will get an "
                "alert for most posts.",
                "It matches {hits} of the last {n} posts: everyone on the desk will get an "
                "alert for most posts.",
                reach.test.tried,
                hits=len(reach.test.hits),
            )
            if rule.owner_id is None
            else tr.ngettext(
                "It matches {hits} of the last {n} post: you will get an alert for most posts.",
                "It matches {hits} of the last {n} posts: you will get an alert for most posts.",
                reach.test.tried,
                hits=len(reach.test.hits),
            )
        )
        notes.append(whom + " " + tr.gettext("/rule remove {id} takes it back.", id=rule.id))
    return "".join("\n⚠️ " + escape(note) for note in notes)


async def _test(message: Message, desk: Desk, query: str, tr: Translator) -> None:
    understood = desk.parse(query)  # a bad rule is refused before any work
    progress = await message.answer(
        "⏳ " + tr.gettext("Trying the rule on the last {n} posts…", n=RULE_TEST_POSTS)
    )
    result = await desk.test_rule(query)
    matched = tr.ngettext(
        "{hits} of the last {n} post matches",
        "{hits} of the last {n} posts match",
        result.tried,
        hits=len(result.hits),
    )
    runs: list[Run] = lines([Run(matched, "b")], [Run(clip(understood, 300), "code")])
    lowered = lowercase_or(query)
    if lowered is not None:
        hint = tr.gettext(LOWERCASE_OR, word=lowered[0], upper=lowered[1])
        runs = join_runs(runs, "\n💡 " + hint)
    for h in result.hits[:10]:
        excerpt = snippet_runs(h.text, h.spans, width=140)
        runs = join_runs(runs, "\n\n", h.post.permalink, "\n", excerpt)
    if len(result.hits) > 10:
        runs = join_runs(runs, "\n\n", tr.gettext("… and {n} more", n=len(result.hits) - 10))
    runs = join_runs(
        runs,
        "\n\n",
        tr.gettext("Save it with") + " ",
        [Run(f"/rule add {clip(query, 200)}", "code")],
    )
    await replace_runs(progress, runs)
