"""The command menu per role (setMyCommands with a chat scope per person)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.handlers.common import allowed
from storage.models import Person
from storage.store import Store

log = logging.getLogger(__name__)


def menu_for(person: Person) -> list[BotCommand]:
    return [BotCommand(command=name, description=text) for name, _, _, text in allowed(person)]


async def set_person_commands(bot: Bot, person: Person) -> None:
    assert person.user_id is not None
    await bot.set_my_commands(menu_for(person), scope=BotCommandScopeChat(chat_id=person.user_id))


async def set_commands(bot: Bot, store: Store, admins: list[int]) -> int:
    """Strangers see only /start; each person sees their role's commands. Returns how many
    personal menus were set."""
    await bot.set_my_commands(
        [BotCommand(command="start", description="what this bot is")],
        scope=BotCommandScopeDefault(),
    )
    done = 0
    people = {p.user_id: p for p in await store.people.list() if p.user_id is not None}
    for uid in admins:
        if uid in people and people[uid].role != "admin":
            from dataclasses import replace

            people[uid] = replace(people[uid], role="admin")
    for person in people.values():
        try:
            await set_person_commands(bot, person)
            done += 1
        except TelegramAPIError as exc:
            log.info("command menu for %s not set: %s", person.label, exc)
    return done
