"""Command replies paced like alerts, and sent the way Telegram takes them: one Bot API client
for the whole bot.

Telegram counts its flood limits per bot, so a journalist who types commands while an alert burst
is going out shares the budget with the notifier. Every request a handler makes passes through
`PacedReplies`, a request middleware on the bot's session: messages take a slot from the
notifier's own `Pacer`, and a 429 is waited out (`retry_after`, capped by `retry_after_max`) up
to `max_attempts` times instead of surfacing as "something went wrong". The notifier paces its
own sends and marks them with `ALREADY_PACED`, so they are not booked twice.

A reply Telegram refuses gets the care an alert gets (`bot/delivery/refusals.py` reads the
answer for both): formatting it cannot parse goes as plain text, a text over its limit in
parts, a reply to a message deleted meanwhile on its own, and a reply to a group Telegram
upgraded to a supergroup goes to the new chat, whose rows follow it (`chats.follow_upgrade`).
Only what none of that mends reaches the errors handler and its "something went wrong".
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
from aiogram.exceptions import TelegramBadRequest, TelegramMigrateToChat, TelegramRetryAfter
from aiogram.methods import EditMessageText, GetUpdates, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot.delivery.chats import follow_upgrade
from bot.delivery.payload import html_runs, plain_text
from bot.delivery.refusals import edit_gone, formatting_refused, reply_gone, text_too_long
from bot.drafting.html import MESSAGE_LIMIT, Run, plain, split_runs, to_html, utf16_len
from bot.settings import BotSettings

if TYPE_CHECKING:
    from aiogram.methods import Response

    from bot.delivery.pacer import Pacer
    from storage.store import Store

log = logging.getLogger(__name__)

_MENDS = 3  # ways a refused reply is sent again at most (moved, unthreaded, plain, in parts)

# Set by the notifier around its own sends: they are paced and retried there already.
ALREADY_PACED: ContextVar[bool] = ContextVar("wirewatch_already_paced", default=False)
# (chat id, message id) of the command a handler is answering in a group, set around the
# handler (bot/handlers/common.ThreadedAnswers): its answers reply to it.
ANSWERING: ContextVar[tuple[int, int] | None] = ContextVar("wirewatch_answering", default=None)


class PacedReplies(BaseRequestMiddleware):
    """Paces new messages per chat and waits out 429s for everything but long polling."""

    def __init__(self, pacer: Pacer, settings: BotSettings, store: Store | None = None) -> None:
        self.pacer = pacer
        self.settings = settings
        self.store = store  # where a chat upgraded to a supergroup is followed
        self.throttled = 0
        self.mended = 0  # replies Telegram refused and then took, sent another way

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates) or ALREADY_PACED.get():
            return await make_request(bot, method)
        return await self._mended(make_request, bot, _threaded(method), _MENDS)

    async def _mended(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        left: int,
    ) -> Response[TelegramType]:
        """The request, or what Telegram takes instead of what it refused; a text sent in
        parts answers with its first part. `left`: mends still allowed (one refusal can hide
        another: a long text with a tag Telegram cannot parse)."""
        try:
            return await self._paced(make_request, bot, method)
        except TelegramMigrateToChat as exc:
            old = getattr(method, "chat_id", None)
            if isinstance(old, int) and self.store is not None:
                await follow_upgrade(self.store, old, exc.migrate_to_chat_id)
            # Only a new message can go to the new chat: an edit's message is the old chat's.
            if left <= 0 or not isinstance(old, int) or not _new_message(method):
                raise
            moved = _copy(
                method,
                chat_id=exc.migrate_to_chat_id,
                reply_parameters=None,
                reply_to_message_id=None,
            )
            return await self._mended(make_request, bot, moved, left - 1)
        except TelegramBadRequest as exc:
            mend = _mend(method, exc) if left > 0 else None
            if mend is None:
                raise
            how, first, *rest = mend
            self.mended += 1
            log.warning(
                "reply %s to chat %s refused (%s); sent %s",
                type(method).__name__,
                getattr(method, "chat_id", None),
                exc.message,
                how,
            )
            response = await self._mended(make_request, bot, first, left - 1)
            for piece in rest:
                await self._mended(make_request, bot, piece, left - 1)
            return response

    async def _paced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
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


def _mend(method: Any, exc: TelegramBadRequest) -> tuple[Any, ...] | None:
    """(how, the request or requests to send instead) for a refusal the same words get past,
    or None: the reply without the message it answered (deleted meanwhile), a result as a
    message of its own where the progress note it was to replace is gone, its text without
    the formatting Telegram could not parse, a text over the limit cut in parts (the first
    keeps the buttons and the reply, as `bot.handlers.common.send_runs` sends them)."""
    replying = getattr(method, "reply_parameters", None) is not None
    if reply_gone(exc) and (replying or getattr(method, "reply_to_message_id", None)):
        return "without the reply", _copy(method, reply_parameters=None, reply_to_message_id=None)
    if (
        edit_gone(exc)
        and isinstance(method, EditMessageText)
        and method.chat_id is not None
        and method.text is not None
    ):
        # The result was to replace a progress note the person deleted: it comes on its own.
        markup = (
            method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
        )
        fresh = SendMessage(
            chat_id=method.chat_id,
            text=method.text,
            parse_mode=method.parse_mode,
            entities=method.entities,
            link_preview_options=method.link_preview_options,
            reply_markup=markup,
        )
        return "as a new message", _threaded(fresh)
    html = str(getattr(method, "parse_mode", None) or "").lower() == "html"
    if formatting_refused(exc) and html:
        for field, entities in (("text", "entities"), ("caption", "caption_entities")):
            value = getattr(method, field, None)
            if isinstance(value, str):
                words = {field: plain_text(value), "parse_mode": None, entities: None}
                return "as plain text", _copy(method, **words)
        return None
    if text_too_long(exc) and isinstance(method, SendMessage):
        runs = html_runs(method.text) if html else [Run(method.text)]
        # Over 4,096 as we count: at the limit. Within it, Telegram counts otherwise: in
        # halves, and a half it still refuses is halved again.
        pieces = split_runs(runs, min(MESSAGE_LIMIT, utf16_len(to_html(runs)) // 2 + 1))
        if len(pieces) < 2:
            return None
        parts = []
        for n, piece in enumerate(pieces):
            text = to_html(piece) if html else plain(piece)
            if n:
                parts.append(
                    _copy(
                        method,
                        text=text,
                        reply_markup=None,
                        reply_parameters=None,
                        reply_to_message_id=None,
                    )
                )
            else:
                parts.append(_copy(method, text=text))
        return (f"in {len(parts)} parts", *parts)
    return None


def _threaded(method: TelegramMethod[TelegramType]) -> TelegramMethod[TelegramType]:
    """In a group, where several people type commands, an answer replies to the command it
    answers: whose /search the results are is plain to see. (A private chat has one asker.)"""
    answering = ANSWERING.get()
    if answering is None or not _new_message(method):
        return method
    chat_id, message_id = answering
    if getattr(method, "chat_id", None) != chat_id:
        return method
    if getattr(method, "reply_parameters", None) or getattr(method, "reply_to_message_id", None):
        return method
    reply = ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
    return _copy(method, reply_parameters=reply)


def _copy(method: TelegramMethod[TelegramType], **fields: Any) -> TelegramMethod[TelegramType]:
    """`method` with `fields` changed, those it has (a chat action has no reply)."""
    known = type(method).model_fields
    return method.model_copy(update={k: v for k, v in fields.items() if k in known})


def _new_message(method: Any) -> bool:
    return type(method).__name__.startswith("Send")


def _paced_chat(method: Any) -> int | None:
    """The chat a method puts a new message into, or None (edits, answers, menus)."""
    if not type(method).__name__.startswith(("Send", "Copy", "Forward")):
        return None
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


def install(
    bot: Bot, pacer: Pacer, settings: BotSettings, store: Store | None = None
) -> PacedReplies:
    """Put the middleware on `bot`'s session once (a restarted poller calls this again)."""
    for existing in bot.session.middleware[:]:
        if isinstance(existing, PacedReplies):
            return existing
    middleware = PacedReplies(pacer, settings, store)
    bot.session.middleware(middleware)
    return middleware
