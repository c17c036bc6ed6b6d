"""A fake Telegram Bot API server on 127.0.0.1 for tests and benchmarks.

aiogram talks to it over real HTTP, exactly as it talks to api.telegram.org:

    async with FakeBotAPI() as api:
        bot = api.bot()
        await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert api.sent_messages(42)[0].text == "hi"

It validates what Telegram validates (HTML entities, text and caption length, callback_data
size, empty text), records every request with its arrival time, numbers messages per chat, keeps
uploaded files, answers long polling with injected updates, and plays programmed faults (429 with
retry_after, 403 blocked, 5xx, a dropped connection, a slow answer).

The HTML validator follows tdlib's parser (td/telegram/MessageEntity.cpp, parse_html), with one
deliberate difference: tdlib keeps an unrecognised `&` as a literal character, this server
rejects it. Anything it accepts, Telegram accepts too, so it catches text we forgot to escape.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from multidict import MultiDictProxy
from PIL import Image, UnidentifiedImageError

DEFAULT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto's limit for an upload
MAX_CALLBACK_DATA = 64

# Parameters that Bot API clients send JSON-encoded inside form fields.
_JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "entities",
    "caption_entities",
    "link_preview_options",
    "commands",
    "scope",
    "allowed_updates",
}
_INT_FIELDS = {
    "chat_id",
    "message_id",
    "reply_to_message_id",
    "offset",
    "limit",
    "timeout",
    "user_id",
    "cache_time",
}
_BOOL_FIELDS = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates"}

_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class EntityParseError(ValueError):
    """Text Telegram would refuse with "Bad Request: can't parse entities: ..."."""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(html: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: (plain text, entities with UTF-16 offsets) or EntityParseError.

    Error messages name the byte offset in UTF-8, as Telegram's do.
    """
    out: list[str] = []
    out_len16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, str]] = []  # (tag, start offset in UTF-16, argument)
    code_languages: dict[int, str] = {}  # id(code entity) -> language, until its pre closes
    n = len(html)
    i = 0

    def byte_at(pos: int) -> int:
        return len(html[:pos].encode("utf-8"))

    def at(pos: int) -> str:
        return html[pos] if pos < n else ""

    while i < n:
        c = html[i]
        if c == "&":
            decoded, i = _decode_entity(html, i, byte_at)
            out.append(decoded)
            out_len16 += _utf16_len(decoded)
            continue
        if c != "<":
            out.append(c)
            out_len16 += _utf16_len(c)
            i += 1
            continue
        begin = i
        if at(i + 1) != "/":
            i += 1
            name_start = i
            while i < n and not html[i].isspace() and html[i] != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_at(begin)}")
            tag = html[name_start:i].lower()
            if tag not in _TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_at(begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and html[i].isspace():
                    i += 1
                if at(i) == ">":
                    break
                attr_start = i
                while i < n and not html[i].isspace() and html[i] not in "=>":
                    i += 1
                attr = html[attr_start:i].lower()
                if not attr:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_at(begin)}'
                    )
                while i < n and html[i].isspace():
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_at(begin)}'
                    )
                i += 1
                while i < n and html[i].isspace():
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {byte_at(begin)}")
                if html[i] not in "'\"":
                    token_start = i
                    while i < n and (html[i].isalnum() or html[i] in ".-"):
                        i += 1
                    value = html[token_start:i].lower()
                    if i < n and not html[i].isspace() and html[i] != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {byte_at(token_start)}"
                        )
                else:
                    quote = html[i]
                    i += 1
                    parts: list[str] = []
                    while i < n and html[i] != quote:
                        if html[i] == "&":
                            decoded, i = _decode_entity(html, i, byte_at)
                            parts.append(decoded)
                        else:
                            parts.append(html[i])
                            i += 1
                    if i < n:
                        i += 1
                    value = "".join(parts)
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {byte_at(begin)}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_at(begin)}'
                )
            i += 1  # past '>'
            stack.append((tag, out_len16, argument))
            continue
        # an end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {byte_at(begin)}")
        i += 2
        name_start = i
        while i < n and not html[i].isspace() and html[i] != ">":
            i += 1
        end_name = html[name_start:i].lower()
        while i < n and html[i].isspace():
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {byte_at(begin)}")
        i += 1
        tag, start, argument = stack.pop()
        if end_name and end_name != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {byte_at(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = out_len16 - start
        if length > 0:
            entity: dict[str, Any] = {"type": _TAGS[tag], "offset": start, "length": length}
            if tag == "a":
                if not argument:
                    continue  # Telegram drops a link without a target, keeping its text
                entity["url"] = argument
            elif tag == "tg-emoji":
                entity["custom_emoji_id"] = argument
            elif tag == "pre" and entities:
                # <pre><code class="language-x"> is one pre entity with a language.
                last = entities[-1]
                if last["type"] == "code" and (last["offset"], last["length"]) == (start, length):
                    entities.pop()
                    language = code_languages.pop(id(last), "")
                    if language:
                        entity["language"] = language
            if tag == "code" and argument:
                code_languages[id(entity)] = argument
            entities.append(entity)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _decode_entity(html: str, pos: int, byte_at: Callable[[int], int]) -> tuple[str, int]:
    """One character reference at `pos` (which holds '&'): (character, position after it)."""
    n = len(html)
    end = pos + 1
    if end < n and html[end] == "#":
        end += 1
        hexa = end < n and html[end] in "xX"
        if hexa:
            end += 1
        digits_start = end
        allowed = "0123456789abcdefABCDEF" if hexa else "0123456789"
        while end < n and html[end] in allowed:
            end += 1
        digits = html[digits_start:end]
        code = int(digits, 16 if hexa else 10) if digits else 0
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                f"Invalid numeric character reference at byte offset {byte_at(pos)}"
            )
        char = chr(code)
    else:
        while end < n and html[end].isascii() and html[end].isalpha():
            end += 1
        name = html[pos + 1 : end]
        if name not in _ENTITIES:
            # tdlib would keep a literal '&' here; we refuse it so unescaped text is caught.
            raise EntityParseError(
                f"Character '&' must be escaped as &amp; at byte offset {byte_at(pos)}"
            )
        char = _ENTITIES[name]
    if end < n and html[end] == ";":
        end += 1
    return char, end


@dataclass
class UploadedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Request:
    """One call as the server received it. `status` is the HTTP status it answered (0: dropped)."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    received_at: float  # time.monotonic() when the request arrived
    status: int = 0
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


@dataclass
class Message:
    """A message in the fake's chat history (sent by the bot or injected from a user)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None  # plain text after entity parsing
    raw: str | None = None  # the text as sent (HTML source)
    entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    reply_to: int | None = None
    reply_markup: dict[str, Any] | None = None
    document: UploadedFile | None = None
    photo: UploadedFile | None = None
    photo_size: tuple[int, int] = (0, 0)
    caption: str | None = None
    user_id: int | None = None
    edits: int = 0


@dataclass
class Fault:
    """A programmed answer that replaces the normal one for matching requests."""

    status: int
    description: str
    method: str | None = None  # lower-case; None matches every method
    chat_id: int | None = None
    retry_after: int | None = None
    drop: bool = False
    accept: bool = False  # with drop: the method runs (a message is kept), then the answer is lost
    delay: float = 0.0  # seconds to wait before answering (a stall, or a slow success)
    times: int | None = 1  # None: until cleared
    after: int = 0  # matching requests let through before the fault starts answering

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


class _ApiError(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


class PlainHttpSession(AiohttpSession):
    """aiogram's own session, closed without the quarter second it waits after closing: that
    wait lets TLS connections finish their shutdown (aiohttp's graceful-shutdown advice), and
    this server speaks plain HTTP on 127.0.0.1. A test closes one or more bots each, so the
    wait alone cost the suite minutes."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class FakeBotAPI:
    """The fake server; use as `async with FakeBotAPI() as api`."""

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, bot_username: str = "wirewatch_test_bot"
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.url = ""
        self.requests: list[Request] = []
        self.chats: dict[int, list[Message]] = defaultdict(list)
        self.documents: list[UploadedFile] = []
        self.photos: list[UploadedFile] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.updates: list[dict[str, Any]] = []
        self.upgraded: dict[int, int] = {}  # group chat id -> the supergroup it became
        # Telegram's limit on a message's text; a test may lower it, as if Telegram counted a
        # text longer than we do.
        self.max_text = MAX_TEXT
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._callbacks: set[str] = set()
        self._changed = asyncio.Condition()
        self._poll_generation = 0
        self._closing = False
        self._bots: list[Bot] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # A stalled answer must not keep the test waiting for aiohttp's 60 s graceful shutdown.
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        for bot in self._bots:
            await bot.session.close()
        self._bots.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def bot(self, *, timeout: float = 10.0) -> Bot:
        """An aiogram Bot wired to this server; its session is closed with the server."""
        session = PlainHttpSession(api=TelegramAPIServer.from_base(self.url), timeout=timeout)
        bot = Bot(self.token, session=session)
        self._bots.append(bot)
        return bot

    # -- programmed faults ---------------------------------------------------------------------

    def fail(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        drop: bool = False,
        delay: float = 0.0,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """Queue a fault; the oldest matching fault answers a request first. `after`: that many
        matching requests are answered normally first (the third message of an alert)."""
        if description is None:
            description = {
                400: "Bad Request",
                403: "Forbidden: bot was blocked by the user",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, "Error")
        fault = Fault(
            status=status,
            description=description,
            method=method.lower() if method else None,
            chat_id=chat_id,
            retry_after=retry_after,
            drop=drop,
            delay=delay,
            times=times,
            after=after,
        )
        self.faults.append(fault)
        return fault

    def flood(
        self,
        retry_after: int = 1,
        *,
        method: str | None = "sendMessage",
        chat_id: int | None = None,
        times: int | None = 1,
    ) -> Fault:
        return self.fail(method, chat_id=chat_id, status=429, retry_after=retry_after, times=times)

    def block(self, chat_id: int, *, times: int | None = None) -> Fault:
        """The user blocked the bot: every request addressing the chat gets 403."""
        return self.fail(None, chat_id=chat_id, status=403, times=times)

    def server_error(
        self,
        method: str | None = "sendMessage",
        *,
        chat_id: int | None = None,
        status: int = 500,
        times: int | None = 1,
    ) -> Fault:
        return self.fail(method, chat_id=chat_id, status=status, times=times)

    def drop(
        self, method: str | None = "sendMessage", *, chat_id: int | None = None, times: int = 1
    ) -> Fault:
        """Close the connection without an answer (after reading the request)."""
        return self.fail(method, chat_id=chat_id, status=0, drop=True, times=times)

    def drop_after_accept(
        self, method: str | None = "sendMessage", *, chat_id: int | None = None, times: int = 1
    ) -> Fault:
        """Carry out the request (a message is delivered), then close the connection before
        the answer: the client cannot know that Telegram has the message."""
        fault = self.fail(method, chat_id=chat_id, status=0, drop=True, times=times)
        fault.accept = True
        return fault

    def stall(
        self,
        seconds: float,
        method: str | None = "sendMessage",
        *,
        chat_id: int | None = None,
        times: int = 1,
    ) -> Fault:
        """Answer normally, but only after `seconds` (provokes client timeouts)."""
        return self.fail(method, chat_id=chat_id, status=200, delay=seconds, times=times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    async def upgrade_group(self, old: int, new: int, *, by: int, tell: bool = True) -> None:
        """An admin of the group `old` changed a setting only a supergroup has: Telegram makes
        it the supergroup `new` (a new id, message ids from 1 again). Requests to `old` get 400
        with `migrate_to_chat_id`; with `tell`, the bot gets Telegram's two service messages
        (`migrate_to_chat_id` in the old chat, `migrate_from_chat_id` in the new one)."""
        self.upgraded[old] = new
        if not tell:
            return
        sender = self.user(by)
        for chat, key, value in (
            (old, "migrate_to_chat_id", new),
            (new, "migrate_from_chat_id", old),
        ):
            msg = self._store(
                Message(
                    chat_id=chat, message_id=0, date=int(time.time()), from_bot=False, user_id=by
                )
            )
            data = self._message_json(msg, sender=sender)
            data[key] = value
            await self.inject_update({"message": data})

    # -- updates for long polling --------------------------------------------------------------

    def user(self, user_id: int, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        data.update(extra)
        return data

    async def inject_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (its update_id is assigned here) and wake long polls."""
        update = {"update_id": next(self._update_ids), **payload}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    async def inject_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        username: str | None = None,
        first_name: str | None = None,
        reply_to: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """A text message from a user (in their private chat unless chat_id says otherwise);
        `language_code` is their Telegram app's language, as Telegram sends it."""
        chat = user_id if chat_id is None else chat_id
        extra: dict[str, Any] = {}
        if username:
            extra["username"] = username
        if first_name:
            extra["first_name"] = first_name
        if language_code:
            extra["language_code"] = language_code
        msg = self._store(
            Message(
                chat_id=chat,
                message_id=0,
                date=int(time.time()),
                from_bot=False,
                text=text,
                raw=text,
                user_id=user_id,
                reply_to=reply_to,
            )
        )
        data = self._message_json(msg, sender=self.user(user_id, **extra))
        if text.startswith("/"):
            command = text.split()[0]
            data["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return await self.inject_update({"message": data})

    async def inject_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
    ) -> str:
        """A button press on one of the bot's messages; returns the callback query id."""
        chat = user_id if chat_id is None else chat_id
        query_id = f"cq{next(self._callback_ids)}"
        self._callbacks.add(query_id)
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user(user_id),
            "chat_instance": f"ci{chat}",
            "data": data,
        }
        target = self.find_message(chat, message_id) if message_id is not None else None
        if target is not None:
            query["message"] = self._message_json(target)
        await self.inject_update({"callback_query": query})
        return query_id

    # -- inspection ----------------------------------------------------------------------------

    def calls(self, method: str, *, ok: bool | None = None) -> list[Request]:
        m = method.lower()
        return [r for r in self.requests if r.method == m and (ok is None or r.ok == ok)]

    def sent_messages(self, chat_id: int | None = None) -> list[Message]:
        """Messages the bot sent, in the order the server accepted them."""
        chats = [chat_id] if chat_id is not None else list(self.chats)
        found = [m for c in chats for m in self.chats.get(c, []) if m.from_bot]
        return found if chat_id is not None else sorted(found, key=_arrival_key(self))

    def find_message(self, chat_id: int, message_id: int) -> Message | None:
        for msg in self.chats.get(chat_id, []):
            if msg.message_id == message_id:
                return msg
        return None

    async def wait_for(
        self, predicate: Callable[[FakeBotAPI], bool], within: float = 10.0
    ) -> None:
        """Wait until `predicate(api)` holds (checked after every request and update); raises
        TimeoutError after `within` seconds."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    # -- the HTTP side -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        if request.match_info["token"] != self.token:
            return _envelope(401, "Unauthorized")
        method = request.match_info["method"].lower()
        try:
            params, files = await _read_params(request)
        except _ApiError as exc:
            return _envelope(exc.status, exc.description)
        rec = Request(method=method, params=params, files=files, received_at=received)
        self.requests.append(rec)
        fault = self._take_fault(method, rec.chat_id)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            handler = self._methods().get(method)
            if fault.accept and handler is not None:
                # Telegram took the request; only its answer never arrives.
                rec.status, rec.result = 200, await handler(rec)
            await self._notify()
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=500)  # never reaches the client: the socket is closed
        if fault is not None and fault.status != 200:
            rec.status, rec.description = fault.status, fault.description
            await self._notify()
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else {}
            return _envelope(fault.status, fault.description, **extra)
        moved = self.upgraded.get(rec.chat_id) if rec.chat_id is not None else None
        if moved is not None:
            rec.status, rec.description = (
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
            )
            await self._notify()
            return _envelope(400, rec.description, migrate_to_chat_id=moved)
        handler = self._methods().get(method)
        if handler is None:
            rec.status, rec.description = 404, "Not Found"
            await self._notify()
            return _envelope(404, "Not Found")
        try:
            result = await handler(rec)
        except _ApiError as exc:
            rec.status, rec.description = exc.status, exc.description
            await self._notify()
            return _envelope(exc.status, exc.description, **exc.parameters)
        rec.status, rec.result = 200, result
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _methods(self) -> dict[str, Callable[[Request], Awaitable[Any]]]:
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "getupdates": self._get_updates,
            "deletewebhook": self._ok,
            "getchat": self._get_chat,
        }

    # -- methods -------------------------------------------------------------------------------

    async def _ok(self, rec: Request) -> Any:
        return True

    async def _get_me(self, rec: Request) -> Any:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "wirewatch test",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _send_message(self, rec: Request) -> Any:
        chat_id = _chat_id(rec.params)
        raw = rec.params.get("text")
        if not isinstance(raw, str) or not raw:
            raise _bad("message text is empty")
        parse_mode = rec.params.get("parse_mode")
        text, entities = _format(raw, parse_mode)
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > self.max_text:
            raise _bad("message is too long")
        markup = _reply_markup(rec.params)
        reply_to = self._reply_target(chat_id, rec.params)
        msg = self._store(
            Message(
                chat_id=chat_id,
                message_id=0,
                date=int(time.time()),
                from_bot=True,
                text=text,
                raw=raw,
                entities=entities,
                parse_mode=parse_mode,
                reply_to=reply_to,
                reply_markup=markup,
            )
        )
        return self._message_json(msg)

    async def _send_document(self, rec: Request) -> Any:
        chat_id = _chat_id(rec.params)
        ref = rec.params.get("document")
        upload: UploadedFile | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = rec.files.get(ref[len("attach://") :])
        elif "document" in rec.files:
            upload = rec.files["document"]
        if upload is None:
            # No internet here: a URL or an unknown file_id cannot be fetched.
            raise _bad("wrong remote file identifier specified: can't unserialize it")
        caption = rec.params.get("caption")
        entities: list[dict[str, Any]]
        text, entities = "", []
        if isinstance(caption, str) and caption:
            text, entities = _format(caption, rec.params.get("parse_mode"))
            if len(text) > MAX_CAPTION:
                raise _bad("message caption is too long")
        markup = _reply_markup(rec.params)
        reply_to = self._reply_target(chat_id, rec.params)
        self.documents.append(upload)
        msg = self._store(
            Message(
                chat_id=chat_id,
                message_id=0,
                date=int(time.time()),
                from_bot=True,
                caption=text or None,
                entities=entities,
                reply_to=reply_to,
                reply_markup=markup,
                document=upload,
            )
        )
        return self._message_json(msg)

    async def _send_photo(self, rec: Request) -> Any:
        chat_id = _chat_id(rec.params)
        ref = rec.params.get("photo")
        upload: UploadedFile | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = rec.files.get(ref[len("attach://") :])
        elif "photo" in rec.files:
            upload = rec.files["photo"]
        if upload is None:
            # No internet here: a URL or an unknown file_id cannot be fetched.
            raise _bad("wrong remote file identifier specified: can't unserialize it")
        width, height = _image_size(upload.data)
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise _bad("PHOTO_SAVE_FILE_INVALID")
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        caption = rec.params.get("caption")
        entities: list[dict[str, Any]]
        text, entities = "", []
        if isinstance(caption, str) and caption:
            text, entities = _format(caption, rec.params.get("parse_mode"))
            if _utf16_len(text) > MAX_CAPTION:
                raise _bad("message caption is too long")
        markup = _reply_markup(rec.params)
        reply_to = self._reply_target(chat_id, rec.params)
        self.photos.append(upload)
        msg = self._store(
            Message(
                chat_id=chat_id,
                message_id=0,
                date=int(time.time()),
                from_bot=True,
                caption=text or None,
                entities=entities,
                reply_to=reply_to,
                reply_markup=markup,
                photo=upload,
                photo_size=(width, height),
            )
        )
        return self._message_json(msg)

    async def _edit_message_text(self, rec: Request) -> Any:
        msg = self._editable(rec.params)
        raw = rec.params.get("text")
        if not isinstance(raw, str) or not raw:
            raise _bad("message text is empty")
        text, entities = _format(raw, rec.params.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > self.max_text:
            raise _bad("message is too long")
        markup = _reply_markup(rec.params)
        if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.text, msg.raw, msg.entities, msg.reply_markup = text, raw, entities, markup
        msg.edits += 1
        return self._message_json(msg)

    async def _edit_reply_markup(self, rec: Request) -> Any:
        msg = self._editable(rec.params)
        markup = _reply_markup(rec.params)
        if markup == msg.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.reply_markup = markup
        msg.edits += 1
        return self._message_json(msg)

    async def _answer_callback_query(self, rec: Request) -> Any:
        query_id = rec.params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = rec.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._callbacks.discard(query_id)
        self.callback_answers[query_id] = dict(rec.params)
        return True

    async def _set_my_commands(self, rec: Request) -> Any:
        commands = rec.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 commands")
        for cmd in commands:
            name = cmd.get("command") if isinstance(cmd, dict) else None
            desc = cmd.get("description") if isinstance(cmd, dict) else None
            if not isinstance(name, str) or not _COMMAND_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_commands_key(rec.params)] = commands
        return True

    async def _delete_my_commands(self, rec: Request) -> Any:
        self.commands.pop(_commands_key(rec.params), None)
        return True

    async def _get_my_commands(self, rec: Request) -> Any:
        return self.commands.get(_commands_key(rec.params), [])

    async def _get_chat(self, rec: Request) -> Any:
        chat_id = _chat_id(rec.params)
        info: dict[str, Any] = self._chat_json(chat_id)
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info

    async def _get_updates(self, rec: Request) -> Any:
        offset = rec.params.get("offset")
        limit = rec.params.get("limit") or 100
        timeout = rec.params.get("timeout") or 0
        allowed = rec.params.get("allowed_updates") or None
        if isinstance(offset, int) and offset != 0:
            # Telegram forgets every update below a positive offset: they are confirmed.
            if offset > 0:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            else:
                self.updates = self.updates[offset:]

        def ready() -> list[dict[str, Any]]:
            return [
                u for u in self.updates if allowed is None or any(kind in u for kind in allowed)
            ][: max(1, min(int(limit), 100))]

        deadline = time.monotonic() + max(0, int(timeout))
        async with self._changed:
            # A newer getUpdates ends an older one, as on Telegram (409 for the older caller).
            self._poll_generation += 1
            generation = self._poll_generation
            self._changed.notify_all()
            while True:
                if self._poll_generation != generation:
                    raise _ApiError(409, "Conflict: terminated by other getUpdates request")
                found = ready()
                left = deadline - time.monotonic()
                if found or left <= 0 or self._closing:
                    return found
                try:
                    async with asyncio.timeout(left):
                        await self._changed.wait()
                except TimeoutError:
                    return ready()

    # -- helpers -------------------------------------------------------------------------------

    def _store(self, msg: Message) -> Message:
        msg.message_id = self._next_message_id[msg.chat_id]
        self._next_message_id[msg.chat_id] += 1
        self.chats[msg.chat_id].append(msg)
        return msg

    def _editable(self, params: dict[str, Any]) -> Message:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by this fake")
        chat_id = _chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        msg = self.find_message(chat_id, message_id)
        if msg is None:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        target: Any = None
        if isinstance(reply, dict):
            target = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
            if reply.get("chat_id") not in (None, chat_id):
                raise _bad("cross-chat replies are not supported by this fake")
        elif params.get("reply_to_message_id") is not None:
            target = params.get("reply_to_message_id")
        if target is None:
            return None
        if not isinstance(target, int):
            raise _bad("message to be replied not found")
        if self.find_message(chat_id, target) is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return target

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        # A basic group's id is small; a supergroup's starts -100 (and a group upgraded to
        # one was a basic group).
        kind = "group" if chat_id in self.upgraded or chat_id > -(10**12) else "supergroup"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _message_json(
        self, msg: Message, *, sender: dict[str, Any] | None = None, nested: bool = False
    ) -> dict[str, Any]:
        if sender is None:
            if msg.from_bot:
                sender = {
                    "id": self.bot_id,
                    "is_bot": True,
                    "first_name": "wirewatch test",
                    "username": self.bot_username,
                }
            else:
                sender = self.user(msg.user_id or msg.chat_id)
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self._chat_json(msg.chat_id),
            "from": sender,
        }
        if msg.text is not None:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = msg.entities
        if msg.document is not None:
            data["document"] = {
                "file_id": f"doc{msg.chat_id}_{msg.message_id}",
                "file_unique_id": f"u{msg.chat_id}_{msg.message_id}",
                "file_name": msg.document.filename,
                "file_size": len(msg.document.data),
            }
            if msg.caption:
                data["caption"] = msg.caption
                if msg.entities:
                    data["caption_entities"] = msg.entities
        if msg.photo is not None:
            width, height = msg.photo_size
            unique = f"p{msg.chat_id}_{msg.message_id}"
            data["photo"] = [
                {
                    "file_id": f"photo{msg.chat_id}_{msg.message_id}",
                    "file_unique_id": unique,
                    "width": width,
                    "height": height,
                    "file_size": len(msg.photo.data),
                }
            ]
            if msg.caption:
                data["caption"] = msg.caption
                if msg.entities:
                    data["caption_entities"] = msg.entities
        if msg.reply_markup is not None:
            data["reply_markup"] = msg.reply_markup
        if msg.reply_to is not None and not nested:
            # As Telegram: the replied-to message carries no reply_to_message of its own, even
            # when it is a reply (a thread of 250 updates is not 250 levels deep).
            target = self.find_message(msg.chat_id, msg.reply_to)
            if target is not None:
                data["reply_to_message"] = self._message_json(target, nested=True)
        if msg.edits:
            data["edit_date"] = int(time.time())
        return data


def _arrival_key(api: FakeBotAPI) -> Callable[[Message], int]:
    order = {
        (r.chat_id, r.result.get("message_id")): i
        for i, r in enumerate(api.requests)
        if r.ok and isinstance(r.result, dict)
    }
    return lambda m: order.get((m.chat_id, m.message_id), len(order))


def _envelope(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    params = {k: v for k, v in parameters.items() if v is not None}
    if params:
        body["parameters"] = params
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string, JSON body, urlencoded or multipart form: all the ways Bot API takes input."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise _bad(f"can't parse JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise _bad("JSON body must be an object")
            params.update(body)
            return params, files
        form: MultiDictProxy[Any] = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    field=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            else:
                params[key] = value
    return _coerce(params), files


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise _bad(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _BOOL_FIELDS:
                value = value.lower() in ("true", "1")
        out[key] = value
    return out


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise _bad("chat_id is empty")
    if not isinstance(value, int):
        raise _bad("chat not found")
    return value


def _format(raw: str, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
    if parse_mode is None or parse_mode == "":
        return raw, []
    if str(parse_mode).lower() != "html":
        raise _bad(f"unsupported parse_mode {parse_mode!r} (this fake knows HTML only)")
    try:
        return parse_html(raw)
    except EntityParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from exc


def _reply_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        if not isinstance(row, list):
            raise _bad(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad("can't parse inline keyboard button: Text must be non-empty")
            data = button.get("callback_data")
            actions = {"url", "callback_data", "switch_inline_query", "copy_text", "web_app"}
            if not actions & button.keys():
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if isinstance(data, str) and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
    return markup


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


@pytest_asyncio.fixture
async def fakebot() -> AsyncIterator[FakeBotAPI]:
    """A running fake Bot API server, closed after the test."""
    async with FakeBotAPI() as api:
        yield api


def _image_size(data: bytes) -> tuple[int, int]:
    """What Telegram checks first: the upload is an image it can decode."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
            return img.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _bad("IMAGE_PROCESS_FAILED") from exc
