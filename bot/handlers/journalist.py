"""Everyone on the desk: /start, /help, preferences, rules, the source list, the mute button."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.desk.desk import RANK, RULE_TEST_POSTS, Desk, DeskError, clip, parse_duration
from bot.drafting.excerpts import snippet
from bot.drafting.html import Run, escape, join_runs
from bot.handlers.access import MinRole
from bot.handlers.common import (
    allowed,
    answer_runs,
    answer_usage,
    desk_or_usage,
    lines,
    replace_runs,
    reply_target,
)
from storage.models import Person, Rule, Source

# What a mute button offers: a mute always has an end unless the journalist picks "forever".
MUTE_CHOICES = (("1 hour", "1h"), ("8 hours", "8h"), ("1 day", "1d"), ("1 week", "1w"),
                ("forever", "forever"))  # fmt: skip


def mute_choices(source: Source) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=label, callback_data=f"mute:{source.id}:{code}")
        for label, code in MUTE_CHOICES
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:3], buttons[3:]])


_ROLE_INTRO = {
    "journalist": "You get alerts with ready-to-paste drafts when officials' channels post what "
    "your desk follows, and you can search the archive.",
    "editor": "You run the desk: sources, rules and the archive; everyone gets alerts by the "
    "rules you set.",
    "admin": "You administer the desk: people and roles, besides everything editors do.",
}


def _until(moment: datetime | None, person: Person) -> str:
    if moment is None:
        return "until you unmute it"
    from zoneinfo import ZoneInfo

    return "until " + moment.astimezone(ZoneInfo(person.tz)).strftime("%Y-%m-%d %H:%M")


def rule_line(rule: Rule, people: dict[int, Person]) -> str:
    owner = (
        "desk"
        if rule.owner_id is None
        else (people[rule.owner_id].label if rule.owner_id in people else "someone")
    )
    return f"#{rule.id} [{owner}] {clip(rule.query, 200)}"


def journalist_router() -> Router:
    router = Router(name="journalist")
    router.message.filter(MinRole("journalist"))
    router.callback_query.filter(MinRole("journalist"))

    @router.message(CommandStart())
    async def start(message: Message, person: Person) -> None:
        intro = _ROLE_INTRO[person.role]
        await message.answer(
            f"👋 wirewatch · role: <b>{person.role}</b>\n{escape(intro)}\n\n/help lists your "
            "commands.",
            parse_mode="HTML",
        )

    @router.message(Command("help"))
    async def help_(message: Message, person: Person) -> None:
        runs: list[Run] = [Run(f"Commands for {person.role}s", "b")]
        for _, _, usage, text in allowed(person):
            runs = join_runs(runs, "\n", [Run(usage, "code")], f" · {text}")
        await answer_runs(message, runs)

    # -- preferences -------------------------------------------------------------------------

    @router.message(Command("lang"))
    async def lang(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        fresh = await desk_or_usage(message, "lang", desk.set_lang(person, command.args or ""))
        if fresh is None:
            return
        await message.answer(f"Drafts will be in {fresh.lang}.")

    @router.message(Command("tz"))
    async def tz(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        if not (command.args or "").strip():
            await answer_usage(message, "tz", f"Your time zone is {person.tz}.")
            return
        fresh = await desk_or_usage(message, "tz", desk.set_tz(person, command.args or ""))
        if fresh is None:
            return
        await message.answer(f"Times are now shown in {fresh.tz}.")

    @router.message(Command("mute"))
    async def mute(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        parts = (command.args or "").split()
        if not parts:
            muted = await desk.mutes(person)
            if not muted:
                await answer_usage(message, "mute", "Nothing is muted.")
                return
            text = "\n".join(f"@{s.username} {_until(u, person)}" for s, u in muted)
            await message.answer("🔇 Muted:\n" + escape(text), parse_mode="HTML")
            return
        if len(parts) > 2:
            await answer_usage(message, "mute")
            return
        if len(parts) == 1:
            # No duration: ask for one rather than mute for ever by default.
            src = await desk_or_usage(message, "mute", desk.source(parts[0]))
            if src is not None:
                await message.answer(
                    f"Mute @{src.username} for how long?", reply_markup=mute_choices(src)
                )
            return
        muting = desk.mute(person, parts[0], parts[1])
        done = await desk_or_usage(message, "mute", muting)
        if done is None:
            return
        src, until = done
        await message.answer(f"🔇 @{src.username} muted {_until(until, person)}.")

    @router.message(Command("unmute"))
    async def unmute(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        parts = (command.args or "").split()
        if len(parts) != 1:
            await answer_usage(message, "unmute")
            return
        src = await desk_or_usage(message, "unmute", desk.unmute(person, parts[0]))
        if src is None:
            return
        await message.answer(f"🔔 Alerts from @{src.username} again.")

    @router.message(Command("quiet"))
    async def quiet(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        arg = (command.args or "").strip()
        if not arg:
            now = (
                f"Your quiet hours: {person.quiet_from}-{person.quiet_to}."
                if person.quiet_from
                else "No quiet hours set."
            )
            await answer_usage(message, "quiet", now)
            return
        fresh = await desk_or_usage(message, "quiet", desk.set_quiet(person, arg))
        if fresh is None:
            return
        if fresh.quiet_from:
            await message.answer(
                f"🌙 Quiet hours {fresh.quiet_from}-{fresh.quiet_to} ({fresh.tz}): alerts are "
                "held and arrive as one digest when they end."
            )
        else:
            await message.answer("Quiet hours off.")

    @router.message(Command("digest"))
    async def digest(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        parts = (command.args or "").split()
        if parts[:1] == ["off"] and len(parts) == 1:
            await desk.set_digest(person, "off")
            await message.answer("Daily digest off.")
            return
        if len(parts) != 2 or parts[0].lower() != "daily":
            await answer_usage(message, "digest")
            return
        fresh = await desk_or_usage(message, "digest", desk.set_digest(person, parts[1]))
        if fresh is None:
            return
        await message.answer(f"🗞 Daily digest at {fresh.digest_at} ({fresh.tz}).")

    @router.message(Command("pause", "resume"))
    async def pause(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        arg = (command.args or "").strip().lower()
        if command.command == "resume":
            arg = "off"
        if arg not in ("", "on", "off"):
            await answer_usage(message, "pause")
            return
        paused = (not person.paused) if arg == "" else arg == "on"
        await desk.set_paused(person, paused)
        await message.answer(
            "⏸ Alerts paused; /pause again to resume." if paused else "▶️ Alerts resumed."
        )

    # -- sources (read) and rules --------------------------------------------------------------

    @router.message(Command("sources"))
    async def sources(message: Message, person: Person, desk: Desk) -> None:
        items = await desk.sources()
        if not items:
            await message.answer(
                "No sources yet."
                + (
                    " Add one with /watch @username."
                    if RANK[person.role] >= RANK["editor"]
                    else ""
                )
            )
            return
        runs: list[Run] = [Run(f"Sources ({len(items)})", "b")]
        for s in items:
            who = " · ".join(x for x in (s.person_in(person.lang), s.role_in(person.lang)) if x)
            state = "" if s.active else " (not followed)"
            err = f" ⚠️ {s.error}" if s.error else ""
            runs = join_runs(runs, "\n", f"@{s.username}{state} {who}{err}".rstrip())
        await answer_runs(message, runs)

    @router.message(Command("rules"))
    async def rules(message: Message, person: Person, desk: Desk) -> None:
        items = await desk.rules(viewer=person)
        if not items:
            await answer_usage(message, "rule", "No rules yet.")
            return
        people = {p.id: p for p in await desk.people()}
        runs: list[Run] = [Run(f"Rules ({len(items)})", "b")]
        for r in items:
            runs = join_runs(runs, "\n", rule_line(r, people))
        await answer_runs(message, runs)

    @router.message(Command("rule"))
    async def rule(message: Message, command: CommandObject, person: Person, desk: Desk) -> None:
        args = (command.args or "").strip()
        verb, _, rest = args.partition(" ")
        verb = verb.lower()
        rest = rest.strip()
        if verb not in ("add", "my", "remove", "test") or not rest:
            await answer_usage(message, "rule")
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
                whose = "the desk's" if created_rule.owner_id is None else "yours"
                verb_text = "added" if created else "already exists"
                await message.answer(
                    f"✅ Rule #{created_rule.id} {verb_text} ({whose}): "
                    f"<code>{escape(clip(created_rule.query, 300))}</code>",
                    parse_mode="HTML",
                )
            elif verb == "remove":
                rule_id = await desk.parse_rule_id(rest)
                removed = await desk.remove_rule(
                    rule_id, by=person, actor=message.from_user.id if message.from_user else None
                )
                await message.answer(
                    f"🗑 Rule #{removed.id} removed: <code>{escape(clip(removed.query, 300))}"
                    "</code>",
                    parse_mode="HTML",
                )
            else:
                await _test(message, desk, rest)
        except DeskError as exc:
            await answer_usage(message, "rule", str(exc))

    @router.callback_query(lambda q: (q.data or "").startswith("mute:"))
    async def mute_button(query: CallbackQuery, person: Person, desk: Desk) -> None:
        m = re.fullmatch(r"mute:(\d{1,12})(?::(\w{1,8}))?", query.data or "")
        src = await desk.store.sources.get(int(m.group(1))) if m else None
        if m is None or src is None:
            await query.answer("That source is no longer known.", show_alert=True)
            return
        if m.group(2) is None:
            # The alert's button: one tap asks how long, it never mutes for ever by itself.
            await query.answer()
            bot, chat_id = reply_target(query)
            await bot.send_message(
                chat_id, f"Mute @{src.username} for how long?", reply_markup=mute_choices(src)
            )
            return
        try:
            delta = parse_duration(m.group(2))
        except DeskError:
            await query.answer("This button is no longer available.", show_alert=True)
            return
        until = await desk.mute_id(person, src.id, delta, now=datetime.now(UTC))
        await query.answer(
            f"Muted @{src.username} {_until(until, person)}. /unmute @{src.username} to undo."[
                :200
            ],
            show_alert=True,
        )

    return router


async def _test(message: Message, desk: Desk, query: str) -> None:
    understood = desk.parse(query)  # a bad rule is refused before any work
    progress = await message.answer(f"⏳ Trying the rule on the last {RULE_TEST_POSTS} posts…")
    result = await desk.test_rule(query)
    runs: list[Run] = lines(
        [Run(f"{len(result.hits)} of the last {result.tried} posts match", "b")],
        [Run(clip(understood, 300), "code")],
    )
    for h in result.hits[:10]:
        runs = join_runs(runs, "\n\n", h.post.permalink, "\n", snippet(h.text, h.spans, width=140))
    if len(result.hits) > 10:
        runs = join_runs(runs, "\n\n", f"… and {len(result.hits) - 10} more")
    runs = join_runs(runs, "\n\n", "Save it with ", [Run(f"/rule add {clip(query, 200)}", "code")])
    await replace_runs(progress, runs)
