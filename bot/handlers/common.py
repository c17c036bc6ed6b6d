"""What every router shares: the command list per role, usage lines, safe replies."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from aiogram import Bot
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.desk.desk import RANK, DeskError, clip
from bot.drafting.html import MESSAGE_LIMIT, Run, escape, join_runs, split_runs, to_html
from storage.models import Person

# (command, role needed, usage, one-line description): the menu, /help and usage lines.
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("start", "journalist", "/start", "what this bot does for you"),
    ("help", "journalist", "/help", "the commands you can use"),
    (
        "search",
        "journalist",
        "/search <query> [from:@channel since:YYYY-MM-DD until: edited:yes deleted:no]",
        "search the archive, newest first",
    ),
    (
        "post",
        "journalist",
        "/post <https://t.me/channel/123>",
        "a post with every version and its draft",
    ),
    ("export", "journalist", "/export <query>", "search results as CSV and JSON files"),
    ("rules", "journalist", "/rules", "the rules that alert you"),
    (
        "rule",
        "journalist",
        "/rule add <query> | /rule my <query> | /rule remove <id> | /rule test <query>",
        "add, remove or try an alert rule",
    ),
    ("lang", "journalist", "/lang uk|en|ru", "language of your drafts"),
    ("tz", "journalist", "/tz <zone, e.g. Europe/Kyiv>", "your time zone"),
    (
        "mute",
        "journalist",
        "/mute <@channel> [30m|2h|1d|1w|forever]",  # without a duration: buttons ask
        "stop alerts from a channel",
    ),
    ("unmute", "journalist", "/unmute <@channel>", "alerts from a channel again"),
    (
        "quiet",
        "journalist",
        "/quiet <23:00-07:00 | off>",
        "hold alerts at night, get one digest after",
    ),
    ("digest", "journalist", "/digest daily <HH:MM> | /digest off", "a daily summary"),
    ("pause", "journalist", "/pause [on|off]", "pause or resume all your alerts"),
    ("sources", "journalist", "/sources", "the channels we follow"),
    ("watch", "editor", "/watch <@username or t.me link> [person | role]", "follow a channel now"),
    ("unwatch", "editor", "/unwatch <@username>", "stop following a channel"),
    ("status", "editor", "/status", "listener, outbox, errors, database"),
    (
        "glossary",
        "editor",
        "/glossary | /glossary add <person|place|institution> <uk> | <en> | <ru> | <en note>"
        " | /glossary remove <name>",
        "names in uk/en/ru for drafts",
    ),
    (
        "people",
        "admin",
        "/people | /people add <user id or @username> "
        "<admin|editor|journalist> | /people remove <user id or @username>",
        "who may use the bot",
    ),
    (
        "deskchat",
        "admin",
        "/deskchat on|off (in a group) | /deskchat (list) | /deskchat off <chat id>",
        "let a group use the bot",
    ),
    ("audit", "admin", "/audit", "recent admin actions"),
)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
USAGE = {name: usage for name, _, usage, _ in COMMANDS}

T = TypeVar("T")


def allowed(person: Person) -> list[tuple[str, str, str, str]]:
    return [c for c in COMMANDS if RANK[person.role] >= RANK[c[1]]]


def usage_text(command: str, problem: str | None = None) -> str:
    lead = f"{escape(clip(problem, 300))}\n" if problem else ""
    return f"{lead}Usage: <code>{escape(USAGE[command])}</code>"


async def answer_usage(message: Message, command: str, problem: str | None = None) -> None:
    await message.answer(usage_text(command, problem), parse_mode="HTML")


async def desk_or_usage(message: Message, command: str, call: Awaitable[T]) -> T | None:
    """Await a Desk call; a refusal (DeskError, worded for the person) is answered with the
    command's usage line and gives None, so the handler just returns."""
    try:
        return await call
    except DeskError as exc:
        await answer_usage(message, command, str(exc))
        return None


async def answer_error(message: Message, problem: str) -> None:
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
