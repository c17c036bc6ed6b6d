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
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from telethon import TelegramClient, errors, events, functions, types

from sources.telegram.config import ReconcileConfig, ReconcileDefaults, TelegramSettings
from sources.telegram.convert import to_post
from sources.telegram.errors import (
    ChannelError,
    ChannelLimitError,
    FloodWaitTooLong,
    TelegramError,
)
from sources.telegram.pacing import RequestGate, Sleep, iso_time, now
from sources.telegram.reconcile import Reconciliation
from storage.models import Source
from storage.records import Deletion, Event, normalize_username
from storage.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
Handle = Callable[[Event], Awaitable[object]]

_PAGE = 100  # messages per history request: Telegram's own maximum
_MAX_RETRIES = 5  # FloodWaits or dropped connections survived by one request
_RECONNECT_MAX = 300.0  # longest pause between reconnection attempts, seconds


# -- the listener ----------------------------------------------------------------------------


class Listener(Reconciliation):
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
        jobs: ReconcileConfig | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.store = store
        self.handle = handle
        self.settings = settings
        self.jobs: ReconcileConfig = jobs or ReconcileDefaults()
        self._sleep = sleep
        self._by_peer: dict[int, Source] = {}
        self._peers: dict[int, Any] = {}  # source id -> InputPeerChannel
        self._seen: dict[int, int] = {}  # source id -> highest message id seen or fetched
        self._locks: dict[int, asyncio.Lock] = {}
        self._reconciled: dict[int, float] = {}  # source id -> when it was last re-read
        self._top: dict[int, int] = {}  # source id -> newest id Telegram showed us
        self.gate = RequestGate(settings, sleep)
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
        stamp = now()
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
            "flood_wait_until": self.gate.flood_wait_until(),
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
            await self.gate.wait_turn(what)
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

    async def _flood(self, seconds: int, what: str) -> None:
        too_long = self.gate.record_flood(seconds, what)
        await self.store.state.set("listener.flood_wait_until", iso_time(self.gate.flood_until))
        if too_long is not None:
            log.error("%s", too_long)
            await self._error(too_long)
            raise FloodWaitTooLong(too_long)
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

    @property
    def flood_seconds(self) -> int:
        """FloodWait seconds Telegram asked of us since start (metrics)."""
        return self.gate.flood_seconds

    @property
    def connected(self) -> bool:
        return self._connected

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
