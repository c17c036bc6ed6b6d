"""What every router shares: the command list per role, usage lines, safe replies.

Every text here is a msgid (English) translated with the reader's `tr` (bot.i18n.Translator),
which the role middleware puts into the handler data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiogram import BaseMiddleware, Bot
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    TelegramObject,
    Update,
)

from bot.delivery.replies import ANSWERING
from bot.desk.desk import RANK
from bot.desk.inputs import DeskError, clip, without_invisible
from bot.drafting.html import MESSAGE_LIMIT, Run, escape, join_runs, split_runs, to_html
from bot.i18n import N_, Translator
from storage.models import Person

# (command, role needed, usage, one-line description): the menu, /help and usage lines. Usage
# and description are msgids, translated for the reader; the command words stay as typed.
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("start", "journalist", "/start", N_("what this bot does for you")),
    ("help", "journalist", "/help", N_("the commands you can use")),
    (
        "search",
        "journalist",
        N_("/search <query> [from:@channel since:YYYY-MM-DD until: edited:yes deleted:no]"),
        N_("search the archive, newest first"),
    ),
    (
        "post",
        "journalist",
        N_("/post <https://t.me/channel/123>"),
        N_("a post with every version and its draft"),
    ),
    (
        "export",
        "journalist",
        N_("/export <query>"),
        N_("search results as CSV, Excel and JSON files"),
    ),
    ("rules", "journalist", "/rules", N_("the rules that alert you")),
    (
        "rule",
        "journalist",
        N_("/rule add <query> | /rule my <query> | /rule remove <id> | /rule test <query>"),
        N_("add, remove or try an alert rule"),
    ),
    ("lang", "journalist", "/lang uk|en|ru", N_("the language of the bot and of your drafts")),
    ("tz", "journalist", N_("/tz <zone, e.g. Europe/Kyiv>"), N_("your time zone")),
    (
        "mute",
        "journalist",
        N_("/mute <@channel> [30m|2h|1d|1w|forever]"),  # without a duration: buttons ask
        N_("stop alerts from a channel"),
    ),
    ("unmute", "journalist", N_("/unmute <@channel>"), N_("alerts from a channel again")),
    (
        "quiet",
        "journalist",
        N_("/quiet <23:00-07:00 | off>"),
        N_("hold alerts at night, get one digest after"),
    ),
    ("digest", "journalist", N_("/digest daily <HH:MM> | /digest off"), N_("a daily summary")),
    ("pause", "journalist", N_("/pause [on|off]"), N_("pause or resume all your alerts")),
    ("sources", "journalist", "/sources", N_("the channels we follow")),
    (
        "watch",
        "editor",
        N_("/watch <@username or t.me link> [person | role]"),
        N_("follow a channel now"),
    ),
    ("unwatch", "editor", N_("/unwatch <@username>"), N_("stop following a channel")),
    ("status", "editor", "/status", N_("listener, outbox, errors, database")),
    (
        "glossary",
        "editor",
        N_(
            "/glossary | /glossary add <person|place|institution> <uk> | <en> | <ru> | <en note>"
            " | /glossary remove <name>"
        ),
        N_("names in uk/en/ru for drafts"),
    ),
    (
        "people",
        "admin",
        N_(
            "/people | /people add <user id or @username> <admin|editor|journalist> | "
            "/people remove <user id or @username>"
        ),
        N_("who may use the bot"),
    ),
    (
        "deskchat",
        "admin",
        N_("/deskchat on|off (in a group) | /deskchat (list) | /deskchat off <chat id>"),
        N_("let a group use the bot"),
    ),
    ("audit", "admin", "/audit", N_("recent admin actions")),
)
# Role names as a person reads them ("for editors", "role: editor").
ROLE_NAMES = {
    "journalist": N_("journalist"),
    "editor": N_("editor"),
    "admin": N_("admin"),
}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
USAGE = {name: usage for name, _, usage, _ in COMMANDS}
# Every command a handler answers: the menu's, and /resume (the other word for /pause off).
COMMAND_WORDS = frozenset({name for name, *_ in COMMANDS} | {"resume"})

T = TypeVar("T")


class TypedText(BaseMiddleware):
    """An outer middleware on messages: what people typed, without the invisible characters
    copying drags along (`bot.desk.inputs.without_invisible`), before any filter reads the
    command or a handler its arguments."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Message) and event.text:
            clean = _command_word_lowered(without_invisible(event.text))
            if clean != event.text:
                event = event.model_copy(update={"text": clean})
        return await handler(event, data)


class ThreadedAnswers(BaseMiddleware):
    """An outer middleware on messages: in a group, whatever the handler sends to the group
    replies to the message it handles (`bot.delivery.replies.ANSWERING`), so that in a desk
    chat where several people type commands each answer sits under its command."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.chat.type == "private":
            return await handler(event, data)
        token = ANSWERING.set((event.chat.id, event.message_id))
        try:
            return await handler(event, data)
        finally:
            ANSWERING.reset(token)


class EditedCommand(BaseMiddleware):
    """An outer middleware on `dp.update`: a command corrected by editing the message (a typo
    fixed, an argument changed) is handled as the command it now is, which is what people
    expect in Telegram; an edited remark is not a command and gets nothing."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and event.edited_message is not None:
            edited = event.edited_message
            if not (edited.text or "").lstrip().startswith("/"):
                return None
            event = event.model_copy(update={"message": edited, "edited_message": None})
        return await handler(event, data)


def _command_word_lowered(text: str) -> str:
    """`/Search енергетики` as `/search енергетики`: a keyboard that capitalised the first
    letter (or caps lock) made a command "unknown". Only the command word: the arguments keep
    their case (a regex is case-sensitive)."""
    if not text.startswith("/"):
        return text
    word = text.split(maxsplit=1)[0]
    return word.lower() + text[len(word) :]


def allowed(person: Person) -> list[tuple[str, str, str, str]]:
    return [c for c in COMMANDS if RANK[person.role] >= RANK[c[1]]]


def usage_line(command: str, tr: Translator) -> str:
    """The command's usage in the reader's language (`/rules` alone is its own translation)."""
    return tr.gettext(USAGE[command])


def usage_text(command: str, tr: Translator, problem: str | None = None) -> str:
    """The usage line under `problem` (already in the reader's language)."""
    lead = f"{escape(clip(problem, 300))}\n" if problem else ""
    usage = "<code>" + escape(usage_line(command, tr)) + "</code>"
    return lead + tr.gettext("Usage: {usage}", usage=usage)


async def answer_usage(
    message: Message, command: str, tr: Translator, problem: str | None = None
) -> None:
    await message.answer(usage_text(command, tr, problem), parse_mode="HTML")


async def desk_or_usage(
    message: Message, command: str, tr: Translator, call: Awaitable[T]
) -> T | None:
    """Await a Desk call; a refusal (DeskError, worded for the person) is answered with the
    command's usage line and gives None, so the handler just returns."""
    try:
        return await call
    except DeskError as exc:
        await answer_usage(message, command, tr, tr.error(exc))
        return None


async def answer_error(message: Message, problem: str) -> None:
    """`problem` already in the reader's language."""
    await message.answer("⚠️ " + escape(clip(problem, 600)), parse_mode="HTML")


async def send_runs(
    bot: Bot,
    chat_id: int,
    runs: Sequence[Run],
    markup: InlineKeyboardMarkup | None = None,
    *,
    limit: int = MESSAGE_LIMIT,
) -> Message | None:
    """Send formatted text, split to Telegram's limit; the first piece carries `markup`."""
    first: Message | None = None
    for n, piece in enumerate(split_runs(runs, limit)):
        sent = await bot.send_message(
            chat_id,
            to_html(piece),
            parse_mode="HTML",
            reply_markup=markup if n == 0 else None,
            link_preview_options=NO_PREVIEW,
        )
        first = first or sent
    return first


async def answer_runs(
    message: Message, runs: Sequence[Run], markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    assert message.bot is not None
    return await send_runs(message.bot, message.chat.id, runs, markup)


def reply_target(query: CallbackQuery) -> tuple[Bot, int]:
    """Where a button's answer goes: the chat of the message, else the person's own chat."""
    assert query.bot is not None
    if isinstance(query.message, Message):
        return query.bot, query.message.chat.id
    return query.bot, query.from_user.id


async def replace_runs(progress: Message, runs: Sequence[Run]) -> None:
    """Put the result where the progress note was; what does not fit follows as new messages."""
    pieces = split_runs(runs)
    if not pieces:
        return
    await progress.edit_text(
        to_html(pieces[0]), parse_mode="HTML", link_preview_options=NO_PREVIEW
    )
    for piece in pieces[1:]:
        await progress.answer(to_html(piece), parse_mode="HTML", link_preview_options=NO_PREVIEW)


def lines(*parts: Sequence[Run] | str) -> list[Run]:
    out: list[Run] = []
    for n, part in enumerate(parts):
        out = join_runs(out, "\n" if n else "", part)
    return out


def bold(text: str) -> list[Run]:
    return [Run(text, "b")]


def code(text: str) -> list[Run]:
    return [Run(text, "code")]
