"""Who may do what, in which language: the role middleware, role filters for routers, and the
stranger's refusal."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.delivery.chats import follow_upgrade
from bot.desk.desk import RANK, Desk, rank
from bot.handlers.common import COMMAND_WORDS
from bot.handlers.menu import refresh_menu
from bot.i18n import N_, Translator, pick_lang, translator
from storage.models import Person

log = logging.getLogger(__name__)

REFUSAL = N_(
    "Sorry, this bot serves a newsroom's staff only. If you work here, ask an editor to add you."
)
GROUP_REFUSAL = N_(
    "This group is not a desk chat, so the bot does not answer here: whatever it sent would be "
    "visible to everyone in the group. An admin can allow it with /deskchat on."
)
_AUDIT_EVERY = 3600.0  # a stranger's attempts are audited at most once an hour each


class RoleMiddleware(BaseMiddleware):
    """Puts `person` (a Person, or None for a stranger) and `tr` (the Translator of their
    language) into the handler data.

    A person's language is their /lang choice; until they make one it follows their Telegram
    app's language when that is uk, en or ru, otherwise the desk default (settings.lang), and
    is stored so alerts and digests sent later use it too. A stranger is answered in their
    app's language.

    Access is decided per chat: in a private chat by the person's role; in a group only when an
    admin registered the group as a desk chat (/deskchat on), since everything the bot answers
    there is visible to every member. Elsewhere the person counts as a stranger, and
    `outside_desk` is True so that the refusal says why.

    Reads only, except in rare cases: binding a person added by @username to their user id,
    creating the row of an admin from settings, marking reachable again someone who had
    blocked the bot and now writes to it, and storing a language that changed in their app.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        desk: Desk = data["desk"]
        if isinstance(event, Message) and await _upgraded(event, desk):
            return None
        if isinstance(event, Message) and not await _meant_for_us(event, data.get("bot")):
            return None
        user: User | None = data.get("event_from_user")
        person: Person | None = None
        default = desk.settings.lang
        app_lang = user.language_code if user is not None else None
        if user is not None and not user.is_bot:
            person = await desk.identify(user.id, user.username, user.full_name)
            if person is not None and not person.reachable:
                await desk.store.people.set_pref(person.id, "reachable", 1)
            if person is not None and not person.lang_chosen:
                wanted = pick_lang(app_lang, default=default)
                if wanted != person.lang:
                    person = await desk.follow_app_lang(person, wanted)
                    await refresh_menu(data.get("bot"), person)
        data["tr"] = translator(
            person.lang if person is not None else pick_lang(app_lang, default=default)
        )
        chat: Chat | None = data.get("event_chat")
        outside = False
        if person is not None and chat is not None and chat.type != "private":
            allowed = (
                chat.id in await desk.desk_chats()
                # A miss is rare (our own commands in a group that is not a desk chat): read
                # again, since the notifier may have followed the chat to a new id meanwhile.
                or chat.id in await desk.desk_chats(fresh=True)
                or _registers_chat(event, person)
            )
            if not allowed:
                person, outside = None, True
        data["person"] = person
        data["outside_desk"] = outside
        return await handler(event, data)


async def _upgraded(message: Message, desk: Desk) -> bool:
    """Telegram's service messages about a group upgraded to a supergroup (a new chat id):
    `migrate_to_chat_id` in the old chat, `migrate_from_chat_id` in the new one. Either may be
    the first news of it, before any reply or alert to the chat: its rows follow it, so the
    desk chat keeps answering commands under its new id. True for such a message (nothing to
    answer)."""
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return False
    if await follow_upgrade(desk.store, old, new):
        await desk.desk_chats(fresh=True)
    return True


async def _meant_for_us(message: Message, bot: Bot | None) -> bool:
    """In a group the bot hears people talking and other bots' commands too: only our own
    commands (`/search`, `/search@our_bot`) and messages naming it or answering it are meant for
    it. Answering the rest ("Send a command", "Unknown command", or the not-a-desk-chat notice)
    was noise in every remark. In a private chat everything is meant for the bot."""
    if message.chat.type == "private":
        return True
    text = message.text or ""
    me = await bot.me() if bot is not None else None
    ours = (me.username or "").lower() if me is not None else None
    if not text.startswith("/"):
        # Someone naming the bot, or answering one of its messages, is talking to it.
        replied = message.reply_to_message
        author = replied.from_user if replied is not None else None
        if me is not None and author is not None and author.id == me.id:
            return True
        return bool(ours) and f"@{ours}" in text.lower()
    name, _, mention = text.split(maxsplit=1)[0][1:].partition("@")
    if mention:
        return ours == mention.lower()
    return name.lower() in COMMAND_WORDS


def _registers_chat(event: TelegramObject, person: Person) -> bool:
    """An admin's /deskchat in the group it is about: the one command an unregistered group
    may carry."""
    if person.role != "admin" or not isinstance(event, Message):
        return False
    word = (event.text or "").split(maxsplit=1)[0] if event.text else ""
    return word.split("@", 1)[0].lower() == "/deskchat"


class MinRole(Filter):
    """Passes people whose role is at least `role` (journalist < editor < admin)."""

    def __init__(self, role: str) -> None:
        self.needed = RANK[role]

    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return rank(person) >= self.needed


class Stranger(Filter):
    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return person is None


class StrangerLog:
    """Remembers when each stranger was last written to the audit log."""

    def __init__(self) -> None:
        self._last: dict[int, float] = {}

    def due(self, user_id: int) -> bool:
        t = time.monotonic()
        if t - self._last.get(user_id, -_AUDIT_EVERY) < _AUDIT_EVERY:
            return False
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[user_id] = t
        return True


def stranger_router() -> Router:
    """First in line: a stranger gets the refusal and nothing else, whatever they send."""
    router = Router(name="stranger")
    router.message.filter(Stranger())
    router.callback_query.filter(Stranger())
    seen = StrangerLog()

    async def note(user: User | None, kind: str, desk: Desk) -> None:
        uid = user.id if user is not None else 0
        log.warning("refused a %s from user %s (not on the desk)", kind, uid)
        if user is not None and seen.due(uid):
            await desk.audit(uid, "stranger", kind)

    @router.message()
    async def refuse_message(
        message: Message, desk: Desk, tr: Translator, outside_desk: bool = False
    ) -> None:
        if message.chat.type != "private" and not (message.text or "").startswith("/"):
            return  # group talk not meant for the bot: no answer at all
        if outside_desk:
            await message.answer(tr.gettext(GROUP_REFUSAL))
            return
        await note(message.from_user, "message", desk)
        await message.answer(tr.gettext(REFUSAL))

    @router.callback_query()
    async def refuse_callback(
        query: CallbackQuery, desk: Desk, tr: Translator, outside_desk: bool = False
    ) -> None:
        if outside_desk:
            await query.answer(tr.gettext(GROUP_REFUSAL)[:200], show_alert=True)
            return
        await note(query.from_user, "button", desk)
        await query.answer(tr.gettext(REFUSAL)[:200], show_alert=True)

    return router
