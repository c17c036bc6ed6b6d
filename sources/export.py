"""Posts from a Telegram Desktop JSON export (`result.json`).

Two shapes exist: a single-chat export (top-level `name`, `type`, `id`, `messages`) and a
whole-account export (`chats.list[]` and `left_chats.list[]`, each chat shaped like a single-chat
export). The export carries a channel's numeric id and title but never its username, so the caller
names channels: `source` for the one channel of an export, `known` for channels already registered
(bare peer id -> username). Chats that neither names are reported in `ExportResult.skipped`, never
guessed.

Everything is validated before `load_export` returns, so a caller that writes nothing until then
never stores half an export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from storage.records import Post, SourceError, lone_surrogate, normalize_username

CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})

# Telegram Desktop's media_type values -> the media vocabulary Post uses everywhere.
_MEDIA_TYPES = {
    "photo": "photo",
    "video_file": "video",
    "video_message": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
    "animation": "animation",
}
# Media that the export writes as a key of its own rather than as `media_type`.
_MEDIA_KEYS = (
    ("poll", "poll"),
    ("location_information", "location"),
    ("place_name", "venue"),
    ("contact_information", "contact"),
    ("game_title", "game"),
    ("invoice_information", "invoice"),
)

_NO_KNOWN: Mapping[int, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SkippedChat:
    """A chat of the export that produced no posts, and why."""

    name: str
    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ExportChannel:
    """A channel the export produced posts for."""

    username: str
    channel_id: int
    title: str
    posts: int
    service_messages: int  # joins, pins, title changes: not posts, skipped


@dataclass(frozen=True, slots=True)
class ExportResult:
    posts: list[Post] = field(default_factory=list)  # id order within each channel
    skipped: list[SkippedChat] = field(default_factory=list)
    channels: list[ExportChannel] = field(default_factory=list)


class _Bad(Exception):
    """A problem inside one message; the caller adds where it is."""


def load_export(
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    known: Mapping[int, str] = _NO_KNOWN,
    local_tz: tzinfo | None = None,
) -> ExportResult:
    """Read and validate a Telegram Desktop export; raises SourceError naming what is wrong.

    `path` is `result.json` or the export folder holding it. `local_tz` is the zone of the
    computer that made the export; it is used only for old exports whose messages lack
    `date_unixtime` (their `date` is naive local time). None means this machine's zone.
    """
    file = Path(path)
    if file.is_dir():
        file = file / "result.json"
    label = str(file)
    doc = _read_json(file, label)
    if not isinstance(doc, dict):
        raise SourceError(f"{label}: the top level is not a JSON object")

    if "messages" in doc:
        chats = [(_chat(doc, label), label)]
        single = True
    elif "chats" in doc or "left_chats" in doc:
        chats = []
        for section in ("chats", "left_chats"):
            for i, raw in enumerate(_chat_list(doc, section, label)):
                where = f"{label}: {section} #{i + 1}"
                chats.append((_chat(raw, where), where))
        single = False
    else:
        raise SourceError(
            f"{label}: not a Telegram Desktop JSON export (expected 'messages' for one chat "
            "or 'chats' for a whole account)"
        )

    known_names = {int(k): normalize_username(v) for k, v in known.items()}
    wanted = _assign_usernames(chats, source, known_names, single=single, label=label)

    result = ExportResult()
    by_channel: dict[int, tuple[str, str, dict[int, Post], list[int]]] = {}
    for chat, where in chats:
        chat_id, name, ctype = chat["id"], chat["name"], chat["type"]
        username = wanted.get(chat_id)
        if username is None:
            if ctype not in CHANNEL_TYPES:
                reason = f"not a channel ({ctype})"
            else:
                reason = (
                    "channel username unknown: add the channel as a source, or import it with "
                    "--source @name"
                )
            result.skipped.append(SkippedChat(name, chat_id, reason))
            continue
        # A channel left and rejoined can appear in both lists: merge by message id.
        entry = by_channel.setdefault(chat_id, (username, name, {}, [0]))
        chat_where = f"{where} ({name!r}, id {chat_id})" if not single else where
        _messages(chat, chat_where, username, local_tz, entry[2], entry[3], file.parent)

    for chat_id, (username, name, posts, service) in by_channel.items():
        ordered = [posts[k] for k in sorted(posts)]
        result.posts.extend(ordered)
        result.channels.append(ExportChannel(username, chat_id, name, len(ordered), service[0]))
    return result


def _read_json(file: Path, label: str) -> Any:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{label}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if not text[exc.pos :].strip():
            hint = " (the file ends early: was the export interrupted or the file cut?)"
        raise SourceError(
            f"{label}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
        ) from None


def _chat_list(doc: dict[str, Any], section: str, label: str) -> list[Any]:
    value = doc.get(section)
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("list", []), list):
        raise SourceError(f"{label}: '{section}' is not an object with a 'list' of chats")
    chats: list[Any] = value.get("list", [])
    return chats


def _chat(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SourceError(f"{where}: the chat is not a JSON object")
    chat_id = raw.get("id")
    if not _is_int(chat_id):
        raise SourceError(f"{where}: chat 'id' is not an integer: {_show(chat_id)}")
    ctype = raw.get("type")
    if not isinstance(ctype, str):
        raise SourceError(f"{where}: chat 'type' is not a string: {_show(ctype)}")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise SourceError(f"{where}: chat 'name' is not a string: {_show(name)}")
    messages = raw.get("messages", [])
    if not isinstance(messages, list):
        raise SourceError(f"{where}: 'messages' is not a list")
    return {"id": chat_id, "type": ctype, "name": name or "", "messages": messages}


def _assign_usernames(
    chats: list[tuple[dict[str, Any], str]],
    source: str | None,
    known: dict[int, str],
    *,
    single: bool,
    label: str,
) -> dict[int, str]:
    """Chat id -> username for every chat we will import."""
    channels = [c for c, _ in chats if c["type"] in CHANNEL_TYPES]
    wanted = {c["id"]: known[c["id"]] for c in channels if c["id"] in known}
    if source is None:
        return wanted
    name = normalize_username(source)
    if single and chats[0][0]["type"] not in CHANNEL_TYPES:
        raise SourceError(
            f"{label}: the export is of a {chats[0][0]['type']}, not a channel; "
            f"cannot import it as @{name}"
        )
    ids = {c["id"] for c in channels}
    if len(ids) != 1:
        raise SourceError(
            f"{label}: source @{name} can name the export's only channel, but it has "
            f"{len(ids)} channels; add them as sources first so they are matched by id"
        )
    (chat_id,) = ids
    if chat_id in known and known[chat_id] != name:
        raise SourceError(
            f"{label}: channel id {chat_id} is already known as @{known[chat_id]}, not @{name}"
        )
    wanted[chat_id] = name
    return wanted


def _messages(
    chat: dict[str, Any],
    where: str,
    username: str,
    local_tz: tzinfo | None,
    out: dict[int, Post],
    service: list[int],
    base: Path,
) -> None:
    chat_id, title = chat["id"], chat["name"] or None
    for index, msg in enumerate(chat["messages"]):
        try:
            post = _message(msg, username, chat_id, title, local_tz, base)
        except _Bad as exc:
            msg_id = msg.get("id") if isinstance(msg, dict) else None
            ident = f" (id {msg_id})" if _is_int(msg_id) else ""
            raise SourceError(f"{where}: message #{index + 1}{ident}: {exc}") from None
        if post is None:
            service[0] += 1
        else:
            out[post.message_id] = post


def _message(
    msg: Any, username: str, chat_id: int, title: str | None, local_tz: tzinfo | None, base: Path
) -> Post | None:
    if not isinstance(msg, dict):
        raise _Bad("not a JSON object")
    msg_id = msg.get("id")
    if not _is_int(msg_id):
        raise _Bad(f"'id' is not an integer: {_show(msg_id)}")
    if msg_id <= 0:
        raise _Bad(f"'id' must be positive, got {msg_id}")
    mtype = msg.get("type")
    if not isinstance(mtype, str):
        raise _Bad(f"'type' is not a string: {_show(mtype)}")
    if mtype != "message":
        return None  # "service": joins, pins, title changes are not posts

    date = _date(msg, "date", "date_unixtime", local_tz)
    if date is None:
        raise _Bad("'date' is missing")
    edited = _date(msg, "edited", "edited_unixtime", local_tz)

    links: list[str] = []
    if "text" in msg:
        text = _text(msg["text"], "text", links)
        if "text_entities" in msg:
            _text(msg["text_entities"], "text_entities", None, list_only=True)
    elif "text_entities" in msg:
        text = _text(msg["text_entities"], "text_entities", links, list_only=True)
    else:
        text = ""

    forward = msg.get("forwarded_from")
    if forward is not None and not isinstance(forward, str):
        raise _Bad(f"'forwarded_from' is not a string: {_show(forward)}")
    reply_to = msg.get("reply_to_message_id")
    if reply_to is not None and not _is_int(reply_to):
        raise _Bad(f"'reply_to_message_id' is not an integer: {_show(reply_to)}")
    if "reply_to_peer_id" in msg:
        reply_to = None  # a reply to a message of another chat: the id means nothing here
    _check_unicode("text", text)
    _check_unicode("forwarded_from", forward)
    for href in links:
        _check_unicode("text_link href", href)

    media = _media(msg)
    return Post(
        channel=username,
        message_id=msg_id,
        date=date,
        text=text,
        edit_date=edited,
        media=media,
        forward_from=forward or None,
        reply_to=reply_to,
        channel_id=chat_id,
        channel_title=title,
        links=tuple(links),
        # The export's own entry is the evidence of what the channel said.
        raw=json.dumps(msg, ensure_ascii=False),
        origin="export",
        media_path=_media_file(msg, media, base),
    )


def _media_file(msg: dict[str, Any], media: str | None, base: Path) -> str | None:
    """The photo or document the export holds for this message, inside the export folder;
    None when it was not exported ("File not included"), is missing, or points outside."""
    key = {"photo": "photo", "document": "file"}.get(media or "")
    rel = msg.get(key) if key else None
    if not isinstance(rel, str) or not rel or rel.startswith("(File not included"):
        return None
    root = base.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return str(path)


def _date(
    msg: dict[str, Any], key: str, unix_key: str, local_tz: tzinfo | None
) -> datetime | None:
    """The instant from `<key>_unixtime` (exact), else from the naive local `<key>`."""
    local: datetime | None = None
    raw = msg.get(key)
    if raw is not None:
        if not isinstance(raw, str):
            raise _Bad(f"'{key}' is not a date: {_show(raw)}")
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            raise _Bad(f"'{key}' is not a date: {_show(raw)}") from None
    unix = msg.get(unix_key)
    if unix is not None:
        if isinstance(unix, str) and unix.isdigit():
            unix = int(unix)
        if not _is_int(unix):
            raise _Bad(f"'{unix_key}' is not a number of seconds: {_show(unix)}")
        try:
            return datetime.fromtimestamp(unix, UTC)
        except (OverflowError, OSError, ValueError):
            raise _Bad(f"'{unix_key}' is out of range: {unix}") from None
    if local is None:
        return None
    if local.tzinfo is not None:
        return local
    # astimezone() on a naive datetime reads it as this machine's local time.
    return local.replace(tzinfo=local_tz) if local_tz is not None else local.astimezone()


def _text(value: Any, key: str, links: list[str] | None, *, list_only: bool = False) -> str:
    if isinstance(value, str) and not list_only:
        return value
    if not isinstance(value, list):
        kind = "is not a list" if list_only else "is neither a string nor a list"
        raise _Bad(f"'{key}' {kind}: {_show(value)}")
    parts: list[str] = []
    for i, part in enumerate(value):
        if isinstance(part, str):
            parts.append(part)
            continue
        if not isinstance(part, dict):
            raise _Bad(f"'{key}' part #{i + 1} is neither text nor an entity: {_show(part)}")
        text = part.get("text")
        if not isinstance(text, str):
            raise _Bad(f"'{key}' part #{i + 1} has no text")
        parts.append(text)
        if part.get("type") == "text_link":
            href = part.get("href")
            if not isinstance(href, str) or not href:
                raise _Bad(f"'{key}' part #{i + 1} is a text_link without an 'href'")
            if links is not None:
                links.append(href)
    return "".join(parts)


def _check_unicode(key: str, value: str | None) -> None:
    if value is not None and (problem := lone_surrogate(key, value)):
        raise _Bad(problem)


def _media(msg: dict[str, Any]) -> str | None:
    if "photo" in msg:
        if not isinstance(msg["photo"], str):
            raise _Bad(f"'photo' is not a string: {_show(msg['photo'])}")
        return "photo"
    media_type = msg.get("media_type")
    if media_type is not None:
        if not isinstance(media_type, str) or not media_type:
            raise _Bad(f"'media_type' is not a string: {_show(media_type)}")
        return _MEDIA_TYPES.get(media_type, media_type)
    if "file" in msg:
        if not isinstance(msg["file"], str):
            raise _Bad(f"'file' is not a string: {_show(msg['file'])}")
        return "document"
    for key, media in _MEDIA_KEYS:
        if key in msg:
            return media
    return None


def _is_int(value: Any) -> TypeGuard[int]:
    # Within SQLite's signed 64-bit integers: a bigger id would pass the check and then fail
    # at the database halfway through the import.
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
