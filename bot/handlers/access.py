"""Who may do what: the role middleware, role filters for routers, and the stranger's refusal."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.desk.desk import RANK, Desk, rank
from storage.models import Person

log = logging.getLogger(__name__)

REFUSAL = (
    "Sorry, this bot serves a newsroom's staff only. If you work here, ask an editor to add you."
)
_AUDIT_EVERY = 3600.0  # a stranger's attempts are audited at most once an hour each


class RoleMiddleware(BaseMiddleware):
    """Puts `person` (a Person, or None for a stranger) into the handler data.

    Reads only, except in rare cases: binding a person added by @username to their user id,
    creating the row of an admin from settings, and marking reachable again someone who had
    blocked the bot and now writes to it.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        desk: Desk = data["desk"]
        person: Person | None = None
        if user is not None and not user.is_bot:
            person = await desk.identify(user.id, user.username)
            if person is not None and not person.reachable:
                await desk.store.people.set_pref(person.id, "reachable", 1)
        data["person"] = person
        return await handler(event, data)


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
    async def refuse_message(message: Message, desk: Desk) -> None:
        await note(message.from_user, "message", desk)
        await message.answer(REFUSAL)

    @router.callback_query()
    async def refuse_callback(query: CallbackQuery, desk: Desk) -> None:
        await note(query.from_user, "button", desk)
        await query.answer(REFUSAL[:200], show_alert=True)

    return router
