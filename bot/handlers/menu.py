"""The command menu per role and language (setMyCommands).

Strangers see /start, described in their app's language: one default-scope menu per language
(`language_code` uk, en, ru) and one without a language for every other app, in the desk
default. Each person gets a chat-scope menu of their role's commands in their own language,
set without a `language_code` so that their /lang choice wins over their app's language.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.handlers.common import allowed
from bot.i18n import LANGS, N_, translator
from storage.models import Person
from storage.store import Store

log = logging.getLogger(__name__)

_STRANGER_START = N_("what this bot is")


def menu_for(person: Person) -> list[BotCommand]:
    tr = translator(person.lang)
    return [
        BotCommand(command=name, description=tr.gettext(text))
        for name, _, _, text in allowed(person)
    ]


async def set_person_commands(bot: Bot, person: Person) -> None:
    assert person.user_id is not None
    await bot.set_my_commands(menu_for(person), scope=BotCommandScopeChat(chat_id=person.user_id))


async def refresh_menu(bot: Bot | None, person: Person) -> None:
    """Re-set one person's menu after their role or language changed; never raises."""
    if bot is None or person.user_id is None:
        return  # set when they first write and are bound
    try:
        await set_person_commands(bot, person)
    except TelegramAPIError as exc:
        # Telegram refuses a chat scope for someone who has never opened the bot; the menu is
        # set again at the next start.
        log.info("command menu for %s not set: %s", person.label, exc)


async def set_commands(bot: Bot, store: Store, admins: list[int], default_lang: str = "uk") -> int:
    """Strangers see only /start; each person sees their role's commands. Returns how many
    personal menus were set."""
    for lang in (None, *LANGS):
        start = translator(lang or default_lang).gettext(_STRANGER_START)
        await bot.set_my_commands(
            [BotCommand(command="start", description=start)],
            scope=BotCommandScopeDefault(),
            language_code=lang,
        )
    done = 0
    people = {p.user_id: p for p in await store.people.list() if p.user_id is not None}
    for uid in admins:
        if uid in people and people[uid].role != "admin":
            people[uid] = replace(people[uid], role="admin")
    for person in people.values():
        try:
            await set_person_commands(bot, person)
            done += 1
        except TelegramAPIError as exc:
            log.info("command menu for %s not set: %s", person.label, exc)
    return done
