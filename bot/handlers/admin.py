"""Admins: who may use the bot (/people), in which groups (/deskchat), what admins did (/audit)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.desk.desk import Desk
from bot.desk.inputs import DeskError
from bot.desk.words import OFF_WORDS, ON_WORDS, PEOPLE_VERBS
from bot.drafting.html import Run, join_runs
from bot.handlers.access import MinRole
from bot.handlers.common import ROLE_NAMES, answer_runs, answer_usage
from bot.handlers.menu import refresh_menu
from bot.i18n import N_, Translator
from storage.models import Person

log = logging.getLogger(__name__)


def person_line(p: Person, tr: Translator) -> str:
    """How /people names someone: their Telegram name when they have written to the bot, then
    @username, or the user id when they have no username (the id once, not as the name and
    again after it); "not written yet" for someone added by @username who never wrote."""
    handle = f"@{p.username}" if p.username else None
    if handle is None and p.user_id is not None:
        handle = tr.gettext("id {id}", id=p.user_id)
    parts = [x for x in (p.display, handle) if x]
    if p.user_id is None:
        parts.append(tr.gettext("not written yet"))
    elif not p.reachable:
        # Telegram refused to deliver (403 blocked, or 400 chat not found: added by id, never
        # opened the bot): their alerts wait, and nothing else tells the admin why.
        parts.append(tr.gettext("alerts on hold: has not opened the bot or blocked it"))
    return " · ".join(parts)


# The audit log's records as an admin reads them: each action in their language, the role a
# person was given and "(desk)" too; a record of another kind is shown as stored.
_AUDIT_ACTIONS = {
    "people.add": N_("person added or role set"),
    "people.remove": N_("person removed"),
    "sources.add": N_("channel followed"),
    "sources.remove": N_("channel no longer followed"),
    "rules.add": N_("rule added"),
    "rules.remove": N_("rule removed"),
    "deskchat on": N_("group made a desk chat"),
    "deskchat off": N_("group no longer a desk chat"),
    "stranger": N_("refused someone not on the desk"),
}


def audit_line(action: str, detail: str, tr: Translator) -> str:
    label = _AUDIT_ACTIONS.get(action)
    if action == "people.add":
        who, arrow, role = detail.rpartition(" → ")
        if arrow and role in ROLE_NAMES:
            detail = f"{who} → {tr.gettext(ROLE_NAMES[role])}"
    elif action == "rules.add":
        detail = detail.replace(" (desk) ", " (" + tr.gettext("desk") + ") ", 1)
    elif action == "stranger":
        detail = ""  # "message" or "button": the label says it
    return " ".join(x for x in (tr.gettext(label) if label else action, detail[:120]) if x)


def admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(MinRole("admin"))

    @router.message(Command("people"))
    async def people(
        message: Message,
        command: CommandObject,
        person: Person,
        desk: Desk,
        bot: Bot,
        tr: Translator,
    ) -> None:
        parts = (command.args or "").split()
        actor = message.from_user.id if message.from_user else None
        if not parts:
            items = await desk.people()
            runs: list[Run] = [Run(tr.gettext("People ({n})", n=len(items)), "b")]
            for p in items:
                role = tr.gettext(ROLE_NAMES[p.role])
                runs = join_runs(runs, f"\n{role} · {person_line(p, tr)}")
            admins = ", ".join(str(a) for a in desk.settings.bot.admins)
            if admins:
                runs = join_runs(
                    runs, "\n" + tr.gettext("Admins from settings: {ids}", ids=admins)
                )
            await answer_runs(message, runs)
            return
        verb = PEOPLE_VERBS.get(parts[0].lower(), "")
        try:
            if verb == "add" and len(parts) == 3:
                added = await desk.add_person(parts[1], parts[2], actor=actor)
                role = tr.gettext(ROLE_NAMES[added.role])
                await message.answer(
                    "✅ " + tr.gettext("{who} is now: {role}.", who=added.label, role=role)
                )
                await refresh_menu(bot, added)
                return
            if verb == "remove" and len(parts) == 2:
                removed = await desk.remove_person(parts[1], actor=actor)
                await message.answer("🗑 " + tr.gettext("{who} removed.", who=removed.label))
                return
        except DeskError as exc:
            await answer_usage(message, "people", tr, tr.error(exc))
            return
        await answer_usage(message, "people", tr)

    @router.message(Command("deskchat"))
    async def deskchat(
        message: Message, command: CommandObject, desk: Desk, tr: Translator
    ) -> None:
        arg = (command.args or "").strip().lower()
        actor = message.from_user.id if message.from_user else None
        if message.chat.type == "private":
            parts = arg.split()
            if not parts:
                # Read, not remembered: the notifier or a reply's 400 may have followed a
                # group to its supergroup's new id meanwhile.
                chats = sorted(await desk.desk_chats(fresh=True))
                listed = ", ".join(str(c) for c in chats) if chats else tr.gettext("none")
                await message.answer(
                    tr.gettext("Desk chats (groups the bot answers in): {chats}", chats=listed)
                )
                return
            if len(parts) == 2 and parts[0] in OFF_WORDS and parts[1].lstrip("-").isdigit():
                changed = await desk.set_desk_chat(int(parts[1]), False, actor=actor)
                await message.answer(
                    tr.gettext("Group {id} is no longer a desk chat.", id=parts[1])
                    if changed
                    else tr.gettext("Group {id} was not a desk chat.", id=parts[1])
                )
                return
            await answer_usage(message, "deskchat", tr)
            return
        if arg not in ON_WORDS and arg not in OFF_WORDS:
            await answer_usage(message, "deskchat", tr)
            return
        on = arg in ON_WORDS
        await desk.set_desk_chat(message.chat.id, on, actor=actor)
        await message.answer(
            "✅ "
            + tr.gettext(
                "This group is now a desk chat: people on the desk can use the bot here, and "
                "everyone in the group sees its answers."
            )
            if on
            else tr.gettext("This group is no longer a desk chat; the bot will not answer here.")
        )

    @router.message(Command("audit"))
    async def audit(message: Message, desk: Desk, person: Person, tr: Translator) -> None:
        entries = await desk.store.state.audit_log(20)
        if not entries:
            await message.answer(tr.gettext("The audit log is empty."))
            return
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(person.tz)
        # Who did it by name, as /people names them (a bare user id meant looking it up
        # there), and the zone the times are in.
        names = {
            p.user_id: p.display or p.label
            for p in await desk.store.people.list(active_only=False)
            if p.user_id is not None
        }
        title = tr.gettext("Audit log (newest first, times in {zone})", zone=person.tz)
        runs: list[Run] = [Run(title, "b")]
        for at, actor, action, detail in entries:
            when = datetime.fromtimestamp(at, UTC).astimezone(zone).strftime("%m-%d %H:%M")
            who = tr.gettext("command line") if actor is None else names.get(actor, str(actor))
            runs = join_runs(runs, f"\n{when} {who} {audit_line(action, detail, tr)}")
        await answer_runs(message, runs)

    return router
