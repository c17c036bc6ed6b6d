"""Updates handled in the order Telegram sent them, where order matters.

aiogram handles each update of a polled batch as its own task, so updates queued while the
service was down all start at once. Two orderings matter: one person's commands (a /rule add and
the /rules after it), and a change of who may do what (an admin's /people add before the new
journalist's first command in the same batch). `UpdateOrder` makes an update wait for every
earlier update of the same person, and for every earlier access change; an access change waits
for everything before it (so does Telegram's news of a group upgraded to a supergroup, which
moves a desk chat). Everything else still runs concurrently.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

# Commands that change who may use the bot, or where.
ACCESS_COMMANDS = frozenset({"people", "deskchat"})


class UpdateOrder(BaseMiddleware):
    """An outer middleware on `dp.update`. It registers each update synchronously, before any
    await, so registration follows the order in which aiogram created the tasks: the order of
    the batch."""

    def __init__(self) -> None:
        self._seq = itertools.count()
        self._running: dict[int, tuple[int | None, bool, asyncio.Event]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender, barrier = _classify(event)
        earlier = [
            done
            for who, was_barrier, done in self._running.values()
            if barrier or was_barrier or (sender is not None and who == sender)
        ]
        seq = next(self._seq)
        done = asyncio.Event()
        self._running[seq] = (sender, barrier, done)
        try:
            for event_done in earlier:
                await event_done.wait()
            return await handler(event, data)
        finally:
            done.set()
            del self._running[seq]


def _classify(event: TelegramObject) -> tuple[int | None, bool]:
    """(the sender's user id or None, whether the update changes access)."""
    if not isinstance(event, Update):
        return None, False
    if event.message is not None:
        user = event.message.from_user
        text = event.message.text or ""
        word = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        command = word[1:].split("@", 1)[0].lower()
        # A group upgraded to a supergroup moves the desk chat to its new id: commands from
        # the new chat wait for the move (`access._upgraded`).
        moved = (
            event.message.migrate_to_chat_id is not None
            or event.message.migrate_from_chat_id is not None
        )
        return (user.id if user else None), command in ACCESS_COMMANDS or moved
    if event.callback_query is not None:
        return event.callback_query.from_user.id, False
    return None, False
