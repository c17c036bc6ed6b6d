"""The records every source produces. Nothing past `sources/` sees a Telethon object.

A `Post` is one channel message as a source saw it at one moment. The pipeline decides whether it
is new, an edit (same channel and id, other text) or a repeat it has already stored. A `Deletion`
says that message ids vanished from a channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Telegram message ids are 32-bit; a larger number is no post (and overflows SQLite's INTEGER).
MAX_MESSAGE_ID = 2**31 - 1
# State key prefix: a username a followed channel gave up (renamed on Telegram) -> that
# channel's peer id. The listener writes it; the sources file and the resolver read it.
FORMER_NAME = "source.former:"
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK_RE = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?(?P<name>[A-Za-z0-9_]+)(?:/(?P<id>\d+))?/?"
    # What Telegram's own "Copy link" adds: ?single (a photo of an album), ?comment=N, ?embed=1,
    # a #fragment. The post is the same one.
    r"(?:\?[^\s#]*)?(?:#\S*)?$",
    # A phone capitalises the first letter of a message: "Https://T.me/…" is the same link.
    re.IGNORECASE,
)


class SourceError(ValueError):
    """Input a source could not turn into posts; the message is meant for a person.

    The message may be a msgid with `{name}` placeholders filled from keyword arguments: `str()`
    is the English text, and the bot answers it in the reader's language (bot.i18n reads
    `msgid` and `params`; storage cannot import the bot, so the pair is kept here)."""

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.msgid = message
        self.params = params
        super().__init__(message.format(**params) if params else message)


# A note stored for people to read later (a source's error, the listener's last error): the
# msgid and its parameters as JSON, so /status and /sources answer each reader in their language.
# Older notes (plain English text) are read as they are.
_NOTE_KEY = "note"


def person_note(msgid: str, /, **params: object) -> str:
    """A note to store: `msgid` (English, with `{name}` placeholders) and its parameters. A
    parameter that is itself an error raised with a msgid is kept as a note, so it is read in the
    reader's language too; anything else is kept as text."""
    return json.dumps({_NOTE_KEY: msgid, "params": _note_params(params)}, ensure_ascii=False)


def note_of(exc: BaseException) -> str:
    """The note that says what `exc` says (translatable when it was raised with a msgid)."""
    msgid, params = getattr(exc, "msgid", None), getattr(exc, "params", None)
    if isinstance(msgid, str) and isinstance(params, Mapping):
        return person_note(msgid, **params)
    return person_note("{reason}", reason=str(exc))


def read_note(text: str | None) -> tuple[str, dict[str, object]] | None:
    """(msgid, params) of a stored note; None for plain text (an older note, or none)."""
    if not text or not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get(_NOTE_KEY), str):
        return None
    params = data.get("params")
    return data[_NOTE_KEY], dict(params) if isinstance(params, dict) else {}


def note_text(text: str | None) -> str:
    """A stored note in English (logs, the CLI, metrics); plain text as it is."""
    found = read_note(text)
    if found is None:
        return text or ""
    msgid, params = found
    filled = {k: note_text(v) if isinstance(v, str) else v for k, v in params.items()}
    try:
        return msgid.format(**filled) if filled else msgid
    except (KeyError, IndexError, ValueError):
        return msgid


def _note_params(params: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, BaseException) and isinstance(getattr(value, "msgid", None), str):
            out[key] = note_of(value)
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def normalize_username(value: str) -> str:
    """`@Name`, `name` or `https://t.me/name` -> `name` (lower-case); raises SourceError."""
    raw = value.strip()
    m = _LINK_RE.match(raw)
    name = m.group("name") if m else raw.lstrip("@")
    if not USERNAME_RE.match(name):
        raise SourceError(
            "not a channel username: '{value}' (expected @name or a t.me link, 4-32 letters, "
            "digits or _)",
            value=value[:64],
        )
    return name.lower()


def parse_permalink(link: str) -> tuple[str, int]:
    """`https://t.me/name/123` -> (`name`, 123); raises SourceError."""
    m = _LINK_RE.match(link.strip())
    if not m or not m.group("id"):
        raise SourceError(
            "not a post link: '{value}' (expected https://t.me/<channel>/<id>)", value=link[:80]
        )
    message_id = int(m.group("id")) if len(m.group("id")) <= 10 else MAX_MESSAGE_ID + 1
    if not 0 < message_id <= MAX_MESSAGE_ID:
        raise SourceError(
            "not a post link: '{value}' (the message number is out of range)", value=link[:80]
        )
    return normalize_username(m.group("name")), message_id


def lone_surrogate(key: str, value: str) -> str | None:
    """Why `value` cannot be stored, or None. JSON may escape half of a surrogate pair
    (`\\ud83d` alone): Python reads it, but no UTF-8 store can hold it, so a source must refuse
    it up front rather than fail at the database (an import halfway, a feed on every retry)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"'{key}' is not valid Unicode: a lone surrogate \\u{ord(value[exc.start]):04x} "
            "(half of an emoji or character)"
        )
    return None


def permalink(username: str, message_id: int) -> str:
    return f"https://t.me/{username}/{message_id}"


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive input is taken as UTC (Telegram's own clock)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Post:
    """One channel message. `channel` is the username, lower-case, without `@`."""

    channel: str
    message_id: int
    date: datetime
    text: str = ""
    edit_date: datetime | None = None
    media: str | None = None  # photo, video, document, audio, voice, sticker, poll, webpage, ...
    grouped_id: int | None = None  # album id: every item of an album shares it
    forward_from: str | None = None  # origin as shown to readers: "@username" or a title
    forward_link: str | None = None  # permalink of the original post, when known
    reply_to: int | None = None
    channel_id: int | None = None  # Telegram peer id of the channel, when the source knows it
    channel_title: str | None = None
    links: tuple[str, ...] = field(default_factory=tuple)  # text_url targets hidden in the text
    # Old history fetched for context (a channel's first catch-up): stored and indexed, but
    # nobody is alerted about posts that were news days ago.
    backfill: bool = False
    # The message as the source gave it (Telethon's TL object as JSON, the export's entry, the
    # feed's line), kept with its SHA-256 in the evidence trail. Not part of equality: the same
    # post read twice is the same post.
    raw: str | None = field(default=None, compare=False, repr=False)
    origin: str = field(default="record", compare=False)  # telegram / export / feed / record
    # A file of the post already on this machine (an export's photo): kept in the media folder.
    media_path: str | None = field(default=None, compare=False)
    # What the media is (the source's own file id, sources/telegram/convert.media_key): a
    # picture swapped under the same caption is an edit. None when the source cannot tell.
    media_key: str | None = None

    def __post_init__(self) -> None:
        if self.message_id <= 0:
            raise SourceError("message id must be positive, got {n}", n=self.message_id)
        object.__setattr__(self, "date", as_utc(self.date))
        if self.edit_date is not None:
            object.__setattr__(self, "edit_date", as_utc(self.edit_date))
        # A NUL (a feed scraped from a PDF, an export of one) is no character a reader sees,
        # and PostgreSQL's text cannot hold it: it refused the whole post. Dropped here, once,
        # so both stores hold the same text and a re-read compares equal; `raw` keeps it.
        for name in ("text", "channel_title", "forward_from"):
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                object.__setattr__(self, name, value.replace("\x00", ""))

    @property
    def permalink(self) -> str:
        return permalink(self.channel, self.message_id)


@dataclass(frozen=True, slots=True)
class Deletion:
    """Message ids that vanished from a channel (seen live or by reconciliation)."""

    channel: str
    message_ids: tuple[int, ...]
    date: datetime  # when the deletion was noticed
    channel_id: int | None = None
    # `date` is when a re-read of the channel found the ids gone, not when they went: it may
    # be hours later (the listener was down), and a draft must not date the deletion by it.
    found: bool = field(default=False, compare=False)
    raw: str | None = field(default=None, compare=False, repr=False)  # the update, as JSON
    origin: str = field(default="record", compare=False)


Event = Post | Deletion
