"""The Telethon listener: the one module in wirewatch that imports telethon.

It follows channels with a Telegram user account and turns what it sees into our own `Post` and
`Deletion` records, which it hands to an async `handle(event)` (the ingest pipeline). Four paths
feed it, all converging on the same conversion:

- live updates (new posts, edits, deletions; album items one by one: the pipeline folds them);
- catch-up: on start, and whenever a live id jumps, the history after the last stored id, oldest
  first, so nothing posted while we were away or disconnected is lost;
- reconciliation: Telegram never replays edits or deletions made while we were offline and does
  not always push deletions, so each channel's recent history is re-read on a schedule and
  compared with what we stored;
- following and unfollowing channels at run time.

Every request goes through one gate that paces requests, honours FloodWait (bounded, logged and
recorded for /status) and survives a dropped connection.
"""

from __future__ import annotations

import asyncio
import fcntl
import getpass
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from telethon import TelegramClient, errors, events, functions, types
from telethon.sessions import SQLiteSession

from bot.service.settings import JobSettings, Settings, TelegramSettings
from storage.models import Source
from storage.records import Deletion, Event, Post, SourceError, normalize_username, permalink
from storage.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
Handle = Callable[[Event], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]

_PAGE = 100  # messages per history request: Telegram's own maximum
_MAX_RETRIES = 5  # FloodWaits or dropped connections survived by one request
_RECONNECT_MAX = 300.0  # longest pause between reconnection attempts, seconds
RECONCILE_JOB = "listener.reconcile"
RECONCILE_TICK = 30  # seconds between checks for channels due a re-read
_HOT = 3600  # a channel that posted within the last hour is re-read twice as often
_QUIET = 7 * 86400  # one silent for a week, four times less often


class TelegramError(SourceError):
    """A listener failure whose message is meant for a person (CLI, /status, bot replies)."""


class SessionInUseError(TelegramError):
    """Another process holds the session file."""


class ChannelError(TelegramError):
    """A channel cannot be followed: private, missing, renamed, not a channel."""


class ChannelLimitError(ChannelError):
    """The account follows as many channels as it may."""


class FloodWaitTooLong(TelegramError):
    """Telegram asked for a pause longer than telegram.flood_wait_max; the request was dropped."""


# -- the session -----------------------------------------------------------------------------

_LOCKS: dict[str, int] = {}  # session path -> lock file descriptor, held for the process lifetime


def session_path(settings: TelegramSettings) -> Path:
    """The file Telethon's SQLiteSession writes (it appends `.session` when missing)."""
    path = Path(settings.session).expanduser()
    if path.suffix != ".session":
        path = path.with_name(path.name + ".session")
    return path


def lock_session(path: Path) -> None:
    """Take the session's lock file (`<session>.lock`) for the life of this process.

    SQLite would only say "database is locked" at the first write, long after start; the lock
    file says who holds the session, at once.
    """
    key = str(path.resolve())
    if key in _LOCKS:
        return
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise SessionInUseError(
            f"session file {path} in use by another wirewatch process (pid {holder})"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    _LOCKS[key] = fd


def unlock_session(path: Path) -> None:
    fd = _LOCKS.pop(str(path.resolve()), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def prepare_session_file(path: Path) -> None:
    """Create the session file owner-only before Telethon opens it: it holds the auth key,
    which is as good as the account. SQLite gives its journal the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def make_client(settings: TelegramSettings) -> TelegramClient:
    """The account's client on its SQLite session (mode 0600), locked to this process."""
    if settings.api_id is None or settings.api_hash is None:
        raise TelegramError(
            "Telegram API credentials missing: set WIREWATCH_TELEGRAM__API_ID and "
            "WIREWATCH_TELEGRAM__API_HASH (from https://my.telegram.org, 'API development tools')"
        )
    path = session_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_session(path)
    prepare_session_file(path)
    return TelegramClient(
        SQLiteSession(str(path)),
        settings.api_id,
        settings.api_hash.get_secret_value(),
        # Every FloodWait reaches our gate, which bounds, logs and reports it.
        flood_sleep_threshold=0,
        connection_retries=10,
        retry_delay=5,
        auto_reconnect=True,
        request_retries=3,
        device_model="wirewatch",
        app_version="wirewatch",
    )


# -- login -----------------------------------------------------------------------------------


async def login(
    client: TelegramClient,
    *,
    phone: str | None = None,
    prompt: Callable[[str], str] = input,
    secret: Callable[[str], str] = getpass.getpass,
    attempts: int = 3,
) -> str:
    """Interactive sign-in: phone, the code Telegram sends, the 2FA password if set.

    The code and the password are read with `secret` (no echo) and never logged. Returns a line
    naming the account.
    """
    try:
        await client.start(
            phone=lambda: phone or prompt("Phone number (international format, +380...): "),
            code_callback=lambda: secret("Login code from Telegram: "),
            password=lambda: secret("Two-step verification password: "),
            max_attempts=attempts,
        )
    except errors.RPCError as exc:
        # The RPC error names what was wrong (PHONE_CODE_INVALID, ...) without echoing input.
        raise TelegramError(f"Telegram refused the login: {exc.message}") from exc
    me = await client.get_me()
    if me is None:
        raise TelegramError("login did not complete")
    name = f"@{me.username}" if me.username else (me.first_name or "account")
    return f"logged in as {name} (id {me.id})"


async def login_with_settings(
    settings: Settings,
    *,
    phone: str | None = None,
    prompt: Callable[[str], str] = input,
    secret: Callable[[str], str] = getpass.getpass,
) -> str:
    """What `wirewatch login` runs: make the client, sign in, save and close the session."""
    client = make_client(settings.telegram)
    path = session_path(settings.telegram)
    try:
        return await login(client, phone=phone, prompt=prompt, secret=secret)
    finally:
        result = client.disconnect()
        if result is not None:
            await result
        os.chmod(path, 0o600)
        unlock_session(path)


# -- converting Telethon messages ------------------------------------------------------------


def media_kind(message: Any) -> str | None:
    """The kind of media a message carries, in our vocabulary (None for text only)."""
    media = getattr(message, "media", None)
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None
    if isinstance(media, types.MessageMediaPhoto):
        return "photo"
    if isinstance(media, types.MessageMediaDocument):
        for kind in ("sticker", "voice", "video_note", "gif", "video", "audio"):
            if getattr(message, kind, None):
                return "animation" if kind == "gif" else kind
        return "document"
    simple = {
        types.MessageMediaPoll: "poll",
        types.MessageMediaWebPage: "webpage",
        types.MessageMediaGeo: "geo",
        types.MessageMediaGeoLive: "geo",
        types.MessageMediaVenue: "venue",
        types.MessageMediaContact: "contact",
        types.MessageMediaDice: "dice",
        types.MessageMediaStory: "story",
        types.MessageMediaPaidMedia: "paid",
    }
    return simple.get(type(media), "other")


def _name_of(entity: Any) -> str | None:
    if entity is None:
        return None
    username = getattr(entity, "username", None)
    if username:
        return f"@{username}"
    title = getattr(entity, "title", None)
    if title:
        return str(title)
    full = " ".join(
        x for x in (getattr(entity, "first_name", None), getattr(entity, "last_name", None)) if x
    )
    return full or None


def forward_origin(message: Any) -> tuple[str | None, str | None]:
    """(origin as readers see it, permalink of the original) for a forwarded message."""
    fwd = getattr(message, "fwd_from", None)
    if fwd is None:
        return None, None
    forward = getattr(message, "forward", None)
    origin_peer = fwd.from_id
    if isinstance(origin_peer, types.PeerChannel):
        chat = forward.chat if forward is not None else None
        name = _name_of(chat) or fwd.post_author
        username = getattr(chat, "username", None)
        link = None
        if fwd.channel_post:
            if username:
                link = permalink(username.lower(), fwd.channel_post)
            else:
                link = f"https://t.me/c/{origin_peer.channel_id}/{fwd.channel_post}"
        return name or f"channel {origin_peer.channel_id}", link
    if isinstance(origin_peer, types.PeerUser):
        sender = forward.sender if forward is not None else None
        return _name_of(sender) or fwd.from_name or f"user {origin_peer.user_id}", None
    # A person who hides their account behind their name on forwards.
    return fwd.from_name or fwd.post_author, None


def to_post(message: Any, source: Source) -> Post | None:
    """Our record of a Telethon channel message; None for service messages and empty slots."""
    if not isinstance(message, types.Message):
        return None
    links = tuple(
        e.url for e in (message.entities or []) if isinstance(e, types.MessageEntityTextUrl)
    )
    forward_from, forward_link = forward_origin(message)
    reply = message.reply_to
    channel_id = (
        message.peer_id.channel_id if isinstance(message.peer_id, types.PeerChannel) else None
    )
    return Post(
        channel=source.username,
        message_id=message.id,
        date=message.date,
        text=message.message or "",
        edit_date=message.edit_date,
        media=media_kind(message),
        grouped_id=message.grouped_id,
        forward_from=forward_from,
        forward_link=forward_link,
        reply_to=getattr(reply, "reply_to_msg_id", None),
        channel_id=channel_id,
        channel_title=source.title,
        links=links,
    )


# -- the listener ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int = 0  # messages Telegram returned
    edited: int = 0  # texts that differed from ours, handed over as new versions
    deleted: int = 0  # stored ids Telegram no longer has
    missed: int = 0  # ids we had never stored


def _now() -> float:
    return time.time()


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


class Listener:
    """Follows channels with one user account and feeds `handle` our own records.

    `sleep` is how the listener waits (pacing, FloodWait, reconnect back-off); tests pass one
    that records instead of waiting.
    """

    def __init__(
        self,
        client: TelegramClient,
        store: Store,
        handle: Handle,
        settings: TelegramSettings,
        jobs: JobSettings | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.store = store
        self.handle = handle
        self.settings = settings
        self.jobs = jobs or JobSettings()
        self._sleep = sleep
        self._by_peer: dict[int, Source] = {}
        self._peers: dict[int, Any] = {}  # source id -> InputPeerChannel
        self._seen: dict[int, int] = {}  # source id -> highest message id seen or fetched
        self._locks: dict[int, asyncio.Lock] = {}
        self._reconciled: dict[int, float] = {}  # source id -> when it was last re-read
        self._top: dict[int, int] = {}  # source id -> newest id Telegram showed us
        self._last_request = 0.0
        self._flood_until = 0.0
        self.flood_seconds = 0  # FloodWait seconds Telegram asked of us since start (metrics)
        self._connected = False
        self._last_error: str | None = None
        self._handlers_added = False
        self._stop = asyncio.Event()
        self.reconnects = 0
        self.gaps = 0

    # -- status --------------------------------------------------------------------------

    async def _error(self, message: str) -> None:
        self._last_error = message
        await self.store.state.set("listener.last_error", message)

    async def _set_connected(self, value: bool) -> None:
        if value != self._connected:
            self._connected = value
            await self.store.state.set("listener.connected", "yes" if value else "no")

    async def status(self) -> dict[str, Any]:
        """What /status and /healthz show: connection, FloodWait, last error, lag per source."""
        stamp = _now()
        sources = []
        for src in await self.store.sources.list(active_only=True):
            reconciled = self._reconciled.get(src.id)
            top = self._top.get(src.id)
            sources.append(
                {
                    "username": src.username,
                    "followed": src.id in self._peers,
                    "last_message_id": src.last_message_id,
                    "last_post_at": src.last_post_at.isoformat() if src.last_post_at else None,
                    "behind": max(0, top - src.last_message_id) if top is not None else None,
                    "reconciled_ago": round(stamp - reconciled) if reconciled else None,
                    "reconcile_every": self.interval(src),
                    "error": src.error,
                }
            )
        return {
            "connected": self._connected,
            "flood_wait_until": _iso(self._flood_until) if self._flood_until > stamp else None,
            "last_error": self._last_error,
            "reconnects": self.reconnects,
            "gaps": self.gaps,
            "channels": len(self._peers),
            "max_channels": self.settings.max_channels,
            "sources": sources,
        }

    # -- the request gate ----------------------------------------------------------------

    async def _request(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One Telegram request, paced, FloodWait-safe and retried after a dropped connection."""
        for attempt in range(_MAX_RETRIES + 1):
            await self._wait_turn(what)
            try:
                result = await call()
            except errors.FloodWaitError as exc:
                await self._flood(int(exc.seconds), what)
            except ConnectionError as exc:
                # Telethon raises ConnectionError for requests made while it is disconnected.
                await self._set_connected(False)
                await self._error(f"{what}: connection lost ({exc})")
                if attempt == _MAX_RETRIES:
                    raise
                await self._sleep(min(2.0**attempt, _RECONNECT_MAX))
                try:
                    await self._reconnect()
                except OSError as again:
                    # Still down: the next attempt finds out and backs off longer.
                    log.warning("reconnect failed: %s", again)
            else:
                await self._set_connected(True)
                return result
        raise TelegramError(f"{what}: gave up after {_MAX_RETRIES} FloodWaits")

    async def _wait_turn(self, what: str) -> None:
        remaining = self._flood_until - _now()
        if remaining > 0:
            if remaining > self.settings.flood_wait_max:
                raise FloodWaitTooLong(
                    f"{what}: Telegram asked to wait until {_iso(self._flood_until)}; "
                    "skipped until then"
                )
            await self._sleep(remaining)
        pause = self.settings.request_pause - (_now() - self._last_request)
        if pause > 0:
            await self._sleep(pause)
        self._last_request = _now()

    async def _flood(self, seconds: int, what: str) -> None:
        self.flood_seconds += seconds
        self._flood_until = max(self._flood_until, _now() + seconds)
        await self.store.state.set("listener.flood_wait_until", _iso(self._flood_until))
        if seconds > self.settings.flood_wait_max:
            message = (
                f"{what}: FloodWait of {seconds}s exceeds telegram.flood_wait_max "
                f"({self.settings.flood_wait_max}s); requests paused until "
                f"{_iso(self._flood_until)}"
            )
            log.error("%s", message)
            await self._error(message)
            raise FloodWaitTooLong(message)
        log.warning("FloodWait %ss on %s; waiting", seconds, what)
        await self._error(f"{what}: FloodWait {seconds}s")
        await self._sleep(seconds)

    async def _reconnect(self) -> None:
        if self._stop.is_set():
            raise ConnectionError("listener is stopping")
        if not self.client.is_connected():
            log.info("reconnecting to Telegram")
            self.reconnects += 1
            await self.client.connect()
        await self._set_connected(self.client.is_connected())

    # -- sources -------------------------------------------------------------------------

    def _lock(self, source_id: int) -> asyncio.Lock:
        return self._locks.setdefault(source_id, asyncio.Lock())

    def _track(self, src: Source, peer: Any) -> None:
        assert src.peer_id is not None
        self._by_peer[src.peer_id] = src
        self._peers[src.id] = peer

    def _untrack(self, src: Source) -> None:
        if src.peer_id is not None:
            self._by_peer.pop(src.peer_id, None)
        self._peers.pop(src.id, None)
        self._seen.pop(src.id, None)

    async def _input_peer(self, src: Source) -> Any:
        """The channel's input peer: from the database cache, resolving the username only once."""
        peer = self._peers.get(src.id)
        if peer is not None:
            return peer
        if src.peer_id is not None and src.access_hash is not None:
            peer = types.InputPeerChannel(src.peer_id, src.access_hash)
            self._track(src, peer)
            return peer
        return (await self._resolve_and_join(src.username))[1]

    async def _resolve_and_join(self, username: str) -> tuple[Source, Any]:
        """Resolve a username (one request), join the channel if needed, cache the peer."""
        try:
            resolved = await self._request(
                f"resolve @{username}",
                lambda: self.client(functions.contacts.ResolveUsernameRequest(username=username)),
            )
        except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError) as exc:
            raise ChannelError(
                f"@{username}: no such channel on Telegram (missing, or renamed: check the "
                "channel's current link)"
            ) from exc
        except errors.ChannelPrivateError as exc:
            raise ChannelError(f"@{username}: the channel is private or we are banned") from exc
        peer = resolved.peer
        if not isinstance(peer, types.PeerChannel):
            kind = "a user" if isinstance(peer, types.PeerUser) else "a group"
            raise ChannelError(f"@{username} is {kind}, not a channel")
        channel = next((c for c in resolved.chats if c.id == peer.channel_id), None)
        if not isinstance(channel, types.Channel) or channel.access_hash is None:
            raise ChannelError(f"@{username}: the channel is private or unavailable")
        other = await self.store.sources.by_peer(channel.id)
        if other is not None and other.username != username:
            raise ChannelError(
                f"@{username} is the channel already followed as @{other.username} "
                f"(renamed?); unfollow @{other.username} first"
            )
        if channel.left:
            await self._join(username, channel)
        src = await self.store.sources.ensure(username, title=channel.title)
        await self.store.sources.set_peer(src.id, channel.id, channel.access_hash, channel.title)
        fresh = await self.store.sources.get(src.id)
        assert fresh is not None
        peer_in = types.InputPeerChannel(channel.id, channel.access_hash)
        if fresh.active:
            self._track(fresh, peer_in)
        return fresh, peer_in

    async def _join(self, username: str, channel: Any) -> None:
        try:
            await self._request(
                f"join @{username}",
                lambda: self.client(
                    functions.channels.JoinChannelRequest(
                        types.InputChannel(channel.id, channel.access_hash)
                    )
                ),
            )
        except errors.ChannelsTooMuchError as exc:
            raise ChannelLimitError(
                "this Telegram account has joined as many channels as Telegram allows (500, "
                "1000 with Premium); leave some or use a second listener account"
            ) from exc
        except errors.InviteRequestSentError as exc:
            raise ChannelError(f"@{username}: joining needs an admin's approval") from exc
        except errors.ChannelPrivateError as exc:
            raise ChannelError(f"@{username}: the channel is private or we are banned") from exc
        log.info("joined @%s", username)

    async def follow(self, username_or_link: str) -> Source:
        """Follow a public channel now: resolve once, join if needed, catch up its recent posts.

        Raises ChannelError (and ChannelLimitError) with a message for the editor.
        """
        username = normalize_username(username_or_link)
        existing = await self.store.sources.by_username(username)
        # Only channels actually joined count: a name that never resolved takes no slot.
        followed = {
            s.id for s in await self.store.sources.list(active_only=True) if s.peer_id
        } | set(self._peers)
        if (existing is None or existing.id not in followed) and (
            len(followed) >= self.settings.max_channels
        ):
            raise ChannelLimitError(
                f"already following {len(followed)} channels, the most this account may "
                f"(telegram.max_channels = {self.settings.max_channels}); unfollow one first"
            )
        if existing is not None and not existing.active:
            await self.store.sources.set_active(existing.id, True)
        try:
            if existing is not None and existing.peer_id and existing.access_hash:
                src = await self.store.sources.get(existing.id)
                assert src is not None
                peer = types.InputPeerChannel(src.peer_id, src.access_hash)
                self._track(src, peer)
            else:
                src, peer = await self._resolve_and_join(username)
        except ChannelError as exc:
            # A name that does not work is not registered; a known source shows the error.
            if existing is not None:
                await self.store.sources.set_error(existing.id, str(exc))
            raise
        await self.catch_up(src)
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def unfollow(self, username: str, *, leave: bool = False) -> Source:
        """Stop following a channel (kept in the database for search); `leave` also leaves it,
        freeing one of the account's 500 channel slots."""
        name = normalize_username(username)
        src = await self.store.sources.by_username(name)
        if src is None:
            raise ChannelError(f"@{name} is not a followed channel")
        await self.store.sources.set_active(src.id, False)
        self._untrack(src)
        if leave and src.peer_id is not None and src.access_hash is not None:
            channel = types.InputChannel(src.peer_id, src.access_hash)
            await self._request(
                f"leave @{name}",
                lambda: self.client(functions.channels.LeaveChannelRequest(channel)),
            )
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def refresh_sources(self) -> list[Source]:
        """Pick up sources added or removed in the database (sources file, CLI, bot commands).

        A source whose username failed to resolve keeps its error and is not retried here: an
        editor's `follow` retries it. That keeps us from re-resolving a bad name every cycle.
        """
        active = await self.store.sources.list(active_only=True)
        ids = {s.id for s in active}
        for gone in [s for s in self._by_peer.values() if s.id not in ids]:
            self._untrack(gone)
        ready: list[Source] = []
        blocked = False  # a long FloodWait: resolve nothing more this round
        for src in active:
            if src.id in self._peers:
                self._by_peer[src.peer_id or 0] = src  # fresher attribution and marks
                ready.append(src)
                continue
            if (src.peer_id is None or src.access_hash is None) and (src.error or blocked):
                continue
            if len(self._peers) >= self.settings.max_channels:
                message = (
                    f"@{src.username}: not followed, the account already follows "
                    f"{len(self._peers)} channels (telegram.max_channels)"
                )
                await self.store.sources.set_error(src.id, message)
                log.error("%s", message)
                continue
            try:
                await self._input_peer(src)
            except ChannelError as exc:
                await self.store.sources.set_error(src.id, str(exc))
                log.error("%s", exc)
                continue
            except FloodWaitTooLong as exc:
                await self._error(str(exc))
                blocked = True
                continue
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, "resolve", exc)
                continue
            fresh = await self.store.sources.get(src.id)
            assert fresh is not None
            ready.append(fresh)
        return ready

    # -- start and run -------------------------------------------------------------------

    def _add_handlers(self) -> None:
        if self._handlers_added:
            return
        self.client.add_event_handler(self._on_message, events.NewMessage())
        self.client.add_event_handler(self._on_message, events.MessageEdited())
        self.client.add_event_handler(self._on_deleted, events.MessageDeleted())
        self._handlers_added = True

    async def start(self) -> None:
        """Follow every active source and catch up on what was posted while we were away.

        Live handlers are attached first, but each channel's live events wait for that
        channel's catch-up, so posts are stored in id order and none slips between the two.
        """
        self._add_handlers()
        sources = await self.refresh_sources()
        for src in sources:
            try:
                await self.catch_up(src)
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, "catch-up", exc)
                if isinstance(exc, FloodWaitTooLong):
                    break  # the next reconciliation round resumes once the wait is over

    async def run(self) -> None:
        """Connect, catch up, listen; after a disconnect, reconnect with back-off and catch up
        again (Telethon does not replay what happened while it was away)."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                if not self.client.is_connected():
                    await self.client.connect()
                if not await self.client.is_user_authorized():
                    raise TelegramError(
                        "the Telegram session is not logged in: run `wirewatch login` first"
                    )
                await self._set_connected(True)
                await self.start()
                delay = 1.0
                await self.client.disconnected
            except (ConnectionError, OSError) as exc:
                await self._error(f"connection: {exc}")
                log.warning("Telegram connection failed: %s", exc)
            await self._set_connected(False)
            if self._stop.is_set():
                break
            log.warning("disconnected from Telegram; reconnecting in %.0fs", delay)
            await self._sleep(delay)
            self.reconnects += 1
            delay = min(delay * 2, _RECONNECT_MAX)

    async def stop(self) -> None:
        self._stop.set()
        result = self.client.disconnect()
        if result is not None:
            await result
        await self._set_connected(False)

    # -- history -------------------------------------------------------------------------

    async def _history(self, src: Source, *, after: int, before: int = 0, limit: int) -> list[Any]:
        """Messages with after < id < before (no upper bound when 0), oldest first."""
        peer = await self._input_peer(src)
        out: list[Any] = []
        cursor = after
        while len(out) < limit:
            want = min(_PAGE, limit - len(out))
            page = await self._request(
                f"history @{src.username}",
                partial(
                    self.client.get_messages,
                    peer,
                    limit=want,
                    min_id=cursor,
                    max_id=before,
                    reverse=True,
                ),
            )
            if not page:
                break
            out.extend(page)
            cursor = max(m.id for m in page)
            if len(page) < want:
                break
        return out

    async def _hand(self, src: Source, messages: Iterable[Any], *, backfill: bool = False) -> int:
        count = 0
        for message in sorted(messages, key=lambda m: int(m.id)):
            self._seen[src.id] = max(self._seen.get(src.id, 0), int(message.id))
            post = to_post(message, src)
            if post is not None:
                await self.handle(replace(post, backfill=True) if backfill else post)
                count += 1
        return count

    async def catch_up(self, source: Source, *, before: int = 0) -> int:
        """Hand over, oldest first, every post after the last stored id (and before `before`).

        A channel we never stored from starts with its newest `jobs.reconcile_window` posts
        rather than its whole history. Returns the number of posts handed over.
        """
        async with self._lock(source.id):
            return await self._catch_up(source, before=before)

    async def _catch_up(self, source: Source, *, before: int = 0) -> int:
        src = await self.store.sources.get(source.id) or source
        after = max(src.last_message_id, 0)
        if after == 0:
            peer = await self._input_peer(src)
            window = min(self.jobs.reconcile_window, self.settings.catch_up_limit)
            newest = await self._request(
                f"history @{src.username}",
                lambda: self.client.get_messages(peer, limit=window),
            )
            messages = list(newest)
        else:
            messages = await self._history(
                src, after=after, before=before, limit=self.settings.catch_up_limit
            )
            if len(messages) >= self.settings.catch_up_limit:
                log.warning(
                    "catch-up of @%s stopped at %d posts; the rest follows on the next gap",
                    src.username,
                    len(messages),
                )
        # A channel's first look back is context, not news: store it, alert nobody.
        count = await self._hand(src, messages, backfill=after == 0)
        self._seen[src.id] = max(self._seen.get(src.id, 0), after)
        if count:
            log.info("caught up %d posts of @%s", count, src.username)
        return count

    # -- live events ---------------------------------------------------------------------

    def _followed(self, peer: Any) -> Source | None:
        if isinstance(peer, types.PeerChannel):
            return self._by_peer.get(peer.channel_id)
        return None

    async def _on_message(self, event: Any) -> None:
        message = event.message
        src = self._followed(message.peer_id)
        if src is None:
            return  # a chat or channel we do not follow
        try:
            async with self._lock(src.id):
                seen = self._seen.get(src.id)
                if seen is None:
                    # Catch-up has not run (or failed): the stored mark is what we have seen.
                    fresh = await self.store.sources.get(src.id)
                    seen = fresh.last_message_id if fresh and fresh.last_message_id else None
                if seen is not None and message.id > seen + 1:
                    # An id jump: posts between were missed (or deleted); fetch them first.
                    self.gaps += 1
                    log.info("gap in @%s: %d -> %d; fetching", src.username, seen, message.id)
                    messages = await self._history(
                        src, after=seen, before=message.id, limit=self.settings.catch_up_limit
                    )
                    await self._hand(src, messages)
                await self._hand(src, [message])
        except (TelegramError, ConnectionError) as exc:
            await self._error(f"live @{src.username}: {exc}")
            log.error("live update of @%s failed: %s", src.username, exc)
        except Exception as exc:
            # The client must keep listening; catch-up and reconciliation will retry this post.
            await self._error(f"live @{src.username}: {type(exc).__name__}: {exc}")
            log.exception("handling message %s of @%s failed", message.id, src.username)

    async def _on_deleted(self, event: Any) -> None:
        update = event.original_update
        channel_id = getattr(update, "channel_id", None)
        if channel_id is None:
            return  # deletions outside channels carry no chat: never ours
        src = self._by_peer.get(channel_id)
        if src is None:
            return
        deletion = Deletion(
            channel=src.username,
            message_ids=tuple(sorted(event.deleted_ids)),
            date=datetime.now(UTC),
            channel_id=channel_id,
        )
        try:
            async with self._lock(src.id):
                await self.handle(deletion)
        except Exception as exc:
            await self._error(f"live deletion @{src.username}: {type(exc).__name__}: {exc}")
            log.exception("handling a deletion in @%s failed", src.username)

    # -- reconciliation ------------------------------------------------------------------

    def interval(self, src: Source) -> int:
        """Seconds between re-reads: the source's own setting, else the global one, halved for
        a channel that posted in the last hour (edits and deletions follow fresh posts) and
        quadrupled for one silent for a week."""
        if src.reconcile_every:
            return int(src.reconcile_every)
        base = self.jobs.reconcile_interval
        if src.last_post_at is None:
            return base
        age = _now() - src.last_post_at.timestamp()
        if age < _HOT:
            return max(30, base // 2)
        if age > _QUIET:
            return base * 4
        return base

    async def reconcile(self, source: Source) -> ReconcileResult:
        """Re-read the channel's newest `jobs.reconcile_window` messages and hand the pipeline
        what changed while nobody was told: new texts (with their edit dates), vanished ids,
        and posts we never stored."""
        async with self._lock(source.id):
            result = await self._reconcile(source)
        self._reconciled[source.id] = _now()
        return result

    async def _reconcile(self, source: Source) -> ReconcileResult:
        src = await self.store.sources.get(source.id) or source
        peer = await self._input_peer(src)
        window = self.jobs.reconcile_window
        fetched = await self._request(
            f"reconcile @{src.username}", lambda: self.client.get_messages(peer, limit=window)
        )
        messages = [m for m in fetched if not isinstance(m, types.MessageEmpty)]
        if not messages:
            return ReconcileResult()
        ids = {int(m.id) for m in messages}
        top = max(ids)
        self._top[src.id] = top
        await self._check_username(src, getattr(messages[0], "chat", None))
        if 0 < src.last_message_id < min(ids) - 1:
            # More was posted since our last stored id than the window shows: catch up first.
            await self._catch_up(src, before=min(ids))
            src = await self.store.sources.get(src.id) or src
        # Fewer than asked means the window reaches the channel's first message.
        low = min(ids) if len(fetched) >= window else 1
        high = max(top, src.last_message_id)
        stored = await self.store.posts.snapshot(src.id, low, high)
        first_stored = min(stored) if stored else src.last_message_id + 1
        changed: list[Post] = []
        missed: list[Any] = []
        for message in sorted(messages, key=lambda m: int(m.id)):
            snap = stored.get(int(message.id))
            if snap is None:
                if message.id > first_stored:
                    missed.append(message)
                continue
            post = to_post(message, src)
            if post is None or post.text == snap.text:
                continue
            if message.grouped_id is not None and not post.text.strip():
                continue  # an album item without a caption says nothing about the text
            if snap.album:
                # A captioned album member: its caption is the album post's text.
                head = await self.store.posts.get_by_link(src.username, post.message_id)
                if head is not None and head.text == post.text:
                    continue
            changed.append(post)
        vanished = tuple(
            sorted(
                mid
                for mid, snap in stored.items()
                if mid not in ids and not snap.deleted and not snap.album
            )
        )
        missed_count = await self._hand(src, missed)
        for post in changed:
            await self.handle(post)
        if vanished:
            log.info("@%s: %d posts vanished: %s", src.username, len(vanished), vanished)
            await self.handle(
                Deletion(
                    channel=src.username,
                    message_ids=vanished,
                    date=datetime.now(UTC),
                    channel_id=src.peer_id,
                )
            )
        return ReconcileResult(len(messages), len(changed), len(vanished), missed_count)

    async def _check_username(self, src: Source, channel: Any) -> None:
        """A renamed channel still answers by its cached peer, but its permalinks changed."""
        current = getattr(channel, "username", None)
        if current and current.lower() != src.username:
            message = (
                f"@{src.username} was renamed to @{current.lower()} on Telegram; its posts are "
                "still followed, but links use the old name until the source is renamed"
            )
            if src.error != message:
                log.warning("%s", message)
                await self.store.sources.set_error(src.id, message)

    async def due(self) -> list[Source]:
        """Sources whose re-read interval has elapsed, most overdue first."""
        stamp = _now()
        out: list[tuple[float, Source]] = []
        for src in await self.store.sources.list(active_only=True):
            if src.id not in self._peers:
                continue
            last = self._reconciled.get(src.id)
            overdue = stamp - (last + self.interval(src)) if last is not None else float("inf")
            if overdue >= 0:
                out.append((overdue, src))
        out.sort(key=lambda pair: -pair[0])
        return [src for _, src in out]

    async def reconcile_due(self, limit: int | None = None) -> dict[str, ReconcileResult]:
        """The scheduler job: pick up new sources, then re-read the channels that are due, one
        request at a time (paced by telegram.request_pause). A long FloodWait ends the round;
        the channels left over are the most overdue next time."""
        await self.refresh_sources()
        results: dict[str, ReconcileResult] = {}
        for src in (await self.due())[:limit]:
            try:
                results[src.username] = await self.reconcile(src)
            except FloodWaitTooLong as exc:
                log.warning("reconciliation paused: %s", exc)
                break
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, "reconcile", exc)
        return results

    def schedule(self, scheduler: Any, *, every: int = RECONCILE_TICK) -> None:
        """Add the reconciliation job to an APScheduler 3 AsyncIOScheduler. It ticks often;
        each tick re-reads only the channels that are due, so a round never overlaps the
        next (one instance) and missed ticks collapse into one."""
        scheduler.add_job(
            self.reconcile_due,
            "interval",
            seconds=every,
            id=RECONCILE_JOB,
            name="re-read recent channel history",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=every,
            replace_existing=True,
        )

    async def _failed(self, src: Source, what: str, exc: BaseException) -> None:
        """Record a per-channel failure where /status shows it."""
        if isinstance(exc, errors.ChannelPrivateError | errors.ChannelInvalidError):
            message = f"@{src.username}: the channel became private, or we were removed or banned"
            await self.store.sources.set_error(src.id, message)
        elif isinstance(exc, errors.RPCError):
            message = f"@{src.username}: Telegram said {exc.message}"
        else:
            message = f"@{src.username}: {exc}"
        await self._error(f"{what} {message}")
        log.error("%s of @%s failed: %s", what, src.username, exc)


__all__: Sequence[str] = (
    "RECONCILE_JOB",
    "ChannelError",
    "ChannelLimitError",
    "FloodWaitTooLong",
    "Listener",
    "ReconcileResult",
    "SessionInUseError",
    "TelegramError",
    "forward_origin",
    "lock_session",
    "login",
    "login_with_settings",
    "make_client",
    "media_kind",
    "session_path",
    "to_post",
)
