"""The outbox payload (what `bot.drafting.alert.compose_alert` stores) turned into messages for
the Bot API, checked on the way: a payload that cannot be sent is refused with a reason, never
half sent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.drafting.html import Run, Tag

CAPTION_LIMIT = 1024  # Telegram: characters of a caption after entities are parsed


@dataclass(frozen=True, slots=True)
class OutMessage:
    html: str  # the text, or the caption of a photo ('' for a photo on its own)
    markup: InlineKeyboardMarkup | None
    preview: bool
    photo: bytes | None = None  # sent with sendPhoto when set
    photo_name: str = "photo.jpg"
    plain: bool = False  # `html` holds plain text, sent without a parse mode


def as_plain(message: OutMessage) -> OutMessage:
    """The message's words without its formatting, for when Telegram refuses the formatting
    ("can't parse entities"): tags dropped, entities decoded, the buttons kept."""
    return replace(message, html=plain_text(message.html), plain=True)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """The text Telegram shows for `html`: tags dropped, entities decoded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


# Telegram's HTML tags as the one tag a `Run` carries; the rest (spoilers, quotes) keep their
# words only.
_RUN_TAGS: dict[str, Tag] = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "code",
    "a": "a",
}


class _Runs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, Tag | None, str | None]] = []  # (tag, its run tag, href)
        self.runs: list[Run] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _RUN_TAGS.get(tag)
        href = dict(attrs).get("href") if kind == "a" else None
        self.open.append((tag, kind, href))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        inner = next(((k, h) for _, k, h in reversed(self.open) if k is not None), None)
        self.runs.append(Run(data, *inner) if inner else Run(data))


def html_runs(html: str) -> list[Run]:
    """Telegram HTML as runs (`bot.drafting.html`), to be cut at the message limit with its
    formatting: where tags nest, the innermost one a run can carry is kept."""
    parser = _Runs()
    parser.feed(html)
    parser.close()
    return parser.runs


def caption_length(html: str) -> int:
    """What Telegram counts against the caption limit: the text without tags, entities
    decoded, in UTF-16 units (an emoji outside the BMP counts two)."""
    return len(plain_text(html).encode("utf-16-le")) // 2


def with_photo(messages: list[OutMessage], photo: bytes, name: str) -> list[OutMessage]:
    """The alert with the post's photo: the draft as its caption when it fits, else the photo
    first and the draft after it (its buttons stay on the draft)."""
    first = messages[0]
    if caption_length(first.html) <= CAPTION_LIMIT:
        return [replace(first, photo=photo, photo_name=name), *messages[1:]]
    return [OutMessage("", None, False, photo=photo, photo_name=name), *messages]


class PayloadError(ValueError):
    """An alert payload that does not follow the contract; the alert fails with this message."""


def parse_payload(payload: Any) -> list[OutMessage]:
    """The contract's {"messages": [{"html", "buttons"}], "plain"} as messages to send."""
    if not isinstance(payload, dict):
        raise PayloadError("payload is not an object")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise PayloadError("payload has no messages")
    out: list[OutMessage] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise PayloadError(f"message {index} is not an object")
        html = message.get("html")
        if not isinstance(html, str) or not html.strip():
            raise PayloadError(f"message {index} has no html")
        rows = message.get("buttons") or []
        markup = _keyboard(rows, index) if index == 0 else None
        out.append(OutMessage(html, markup, bool(message.get("preview", False))))
    return out


def _keyboard(rows: Any, index: int) -> InlineKeyboardMarkup | None:
    if not isinstance(rows, list):
        raise PayloadError(f"message {index}: buttons is not a list of rows")
    keyboard: list[list[InlineKeyboardButton]] = []
    for row in rows:
        if not isinstance(row, list):
            raise PayloadError(f"message {index}: a button row is not a list")
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise PayloadError(f"message {index}: a button has no text")
            if isinstance(button.get("callback_data"), str):
                buttons.append(
                    InlineKeyboardButton(
                        text=button["text"], callback_data=button["callback_data"]
                    )
                )
            elif isinstance(button.get("url"), str):
                buttons.append(InlineKeyboardButton(text=button["text"], url=button["url"]))
            else:
                raise PayloadError(f"message {index}: a button has no callback_data or url")
        if buttons:
            keyboard.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None
