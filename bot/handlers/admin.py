"""Admins: who may use the bot (/people), in which groups (/deskchat), what admins did (/audit)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.desk.desk import Desk, DeskError
from bot.drafting.html import Run, join_runs
from bot.handlers.access import MinRole
from bot.handlers.common import answer_runs, answer_usage
from bot.handlers.menu import set_person_commands
from storage.models import Person

log = logging.getLogger(__name__)


def admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(MinRole("admin"))

    @router.message(Command("people"))
    async def people(
        message: Message, command: CommandObject, person: Person, desk: Desk, bot: Bot
    ) -> None:
        parts = (command.args or "").split()
        actor = message.from_user.id if message.from_user else None
        if not parts:
            items = await desk.people()
            runs: list[Run] = [Run(f"People ({len(items)})", "b")]
            for p in items:
                uid = p.user_id if p.user_id is not None else "not written yet"
                runs = join_runs(runs, f"\n{p.role} · {p.label} · {uid}")
            admins = ", ".join(str(a) for a in desk.settings.bot.admins)
            if admins:
                runs = join_runs(runs, f"\nAdmins from settings: {admins}")
            await answer_runs(message, runs)
            return
        verb = parts[0].lower()
        try:
            if verb == "add" and len(parts) == 3:
                added = await desk.add_person(parts[1], parts[2], actor=actor)
                await message.answer(f"✅ {added.label} is now {added.role}.")
                await _refresh_menu(bot, added, desk)
                return
            if verb == "remove" and len(parts) == 2:
                removed = await desk.remove_person(parts[1], actor=actor)
                await message.answer(f"🗑 {removed.label} removed.")
                return
        except DeskError as exc:
            await answer_usage(message, "people", str(exc))
            return
        await answer_usage(message, "people")

    @router.message(Command("deskchat"))
    async def deskchat(message: Message, command: CommandObject, desk: Desk) -> None:
        arg = (command.args or "").strip().lower()
        actor = message.from_user.id if message.from_user else None
        if message.chat.type == "private":
            parts = arg.split()
            if not parts:
                chats = sorted(await desk.desk_chats())
                listed = ", ".join(str(c) for c in chats) if chats else "none"
                await message.answer(f"Desk chats (groups the bot answers in): {listed}")
                return
            if len(parts) == 2 and parts[0] == "off" and parts[1].lstrip("-").isdigit():
                changed = await desk.set_desk_chat(int(parts[1]), False, actor=actor)
                await message.answer(
                    f"Group {parts[1]} is no longer a desk chat."
                    if changed
                    else f"Group {parts[1]} was not a desk chat."
                )
                return
            await answer_usage(message, "deskchat")
            return
        if arg not in ("on", "off"):
            await answer_usage(message, "deskchat")
            return
        on = arg == "on"
        await desk.set_desk_chat(message.chat.id, on, actor=actor)
        await message.answer(
            "✅ This group is now a desk chat: people on the desk can use the bot here, and "
            "everyone in the group sees its answers."
            if on
            else "This group is no longer a desk chat; the bot will not answer here."
        )

    @router.message(Command("audit"))
    async def audit(message: Message, desk: Desk, person: Person) -> None:
        entries = await desk.store.state.audit_log(20)
        if not entries:
            await message.answer("The audit log is empty.")
            return
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(person.tz)
        runs: list[Run] = [Run("Audit log (newest first)", "b")]
        for at, actor, action, detail in entries:
            when = datetime.fromtimestamp(at, UTC).astimezone(zone).strftime("%m-%d %H:%M")
            runs = join_runs(runs, f"\n{when} {actor or 'cli'} {action} {detail[:120]}")
        await answer_runs(message, runs)

    return router


async def _refresh_menu(bot: Bot, person: Person, desk: Desk) -> None:
    if person.user_id is None:
        return  # set when they first write and are bound
    try:
        await set_person_commands(bot, person)
    except TelegramAPIError as exc:
        # Telegram refuses a chat scope for someone who has never opened the bot; the menu is
        # set again at the next start.
        log.info("command menu for %s not set: %s", person.label, exc)
