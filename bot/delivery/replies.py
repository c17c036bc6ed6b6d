"""Command replies paced like alerts: one Bot API client for the whole bot.

Telegram counts its flood limits per bot, so a journalist who types commands while an alert burst
is going out shares the budget with the notifier. Every request a handler makes passes through
`PacedReplies`, a request middleware on the bot's session: messages take a slot from the
notifier's own `Pacer`, and a 429 is waited out (`retry_after`, capped by `retry_after_max`) up
to `max_attempts` times instead of surfacing as "something went wrong". The notifier paces its
own sends and marks them with `ALREADY_PACED`, so they are not booked twice.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.settings import BotSettings

if TYPE_CHECKING:
    from aiogram.methods import Response

    from bot.delivery.pacer import Pacer

log = logging.getLogger(__name__)

# Set by the notifier around its own sends: they are paced and retried there already.
ALREADY_PACED: ContextVar[bool] = ContextVar("wirewatch_already_paced", default=False)


class PacedReplies(BaseRequestMiddleware):
    """Paces new messages per chat and waits out 429s for everything but long polling."""

    def __init__(self, pacer: Pacer, settings: BotSettings) -> None:
        self.pacer = pacer
        self.settings = settings
        self.throttled = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates) or ALREADY_PACED.get():
            return await make_request(bot, method)
        chat_id = _paced_chat(method)
        attempts = max(1, self.settings.max_attempts)
        for attempt in range(1, attempts + 1):
            if chat_id is not None:
                await self._slot(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(min(exc.retry_after, self.settings.retry_after_max))
                self.throttled += 1
                log.warning(
                    "reply %s to chat %s rate limited (%d of %d), waiting %.1fs",
                    type(method).__name__,
                    chat_id,
                    attempt,
                    attempts,
                    wait,
                )
                if attempt >= attempts:
                    raise
                if chat_id is not None:
                    self.pacer.penalize(chat_id, wait)
                else:
                    await asyncio.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _slot(self, chat_id: int) -> None:
        while True:
            delay, booked = self.pacer.reserve(chat_id)
            if delay > 0:
                await asyncio.sleep(delay)
            if booked:
                return


def _paced_chat(method: Any) -> int | None:
    """The chat a method puts a new message into, or None (edits, answers, menus)."""
    if not type(method).__name__.startswith(("Send", "Copy", "Forward")):
        return None
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


def install(bot: Bot, pacer: Pacer, settings: BotSettings) -> PacedReplies:
    """Put the middleware on `bot`'s session once (a restarted poller calls this again)."""
    for existing in bot.session.middleware[:]:
        if isinstance(existing, PacedReplies):
            return existing
    middleware = PacedReplies(pacer, settings)
    bot.session.middleware(middleware)
    return middleware
