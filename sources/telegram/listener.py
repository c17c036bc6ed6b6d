"""The Telethon listener: the one module in wirewatch that imports telethon.

It follows channels with a Telegram user account and turns what it sees into our own `Post` and
`Deletion` records, which it hands to an async `handle(event)` (the ingest pipeline). Four paths
feed it, all converging on the same conversion:

- live updates (new posts, edits, deletions; album items one by one: the pipeline folds them);
- catch-up: on start, whenever the connection comes back, whenever a live id jumps, and every
  `telegram.poll_interval` for busy channels, the history after the last stored id, oldest
  first, so nothing posted while we were away or disconnected is lost (Telethon 1.x reconnects
  by itself but does not fetch what was missed, and Telegram does not push every update of a
  large channel to a user account);
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

from telethon import TelegramClient, errors, events, types, utils

from sources.telegram import notes
from sources.telegram.channels import Channels
from sources.telegram.config import ReconcileConfig, ReconcileDefaults, TelegramSettings
from sources.telegram.convert import raw_json, to_post
from sources.telegram.errors import (
    FloodWaitTooLong,
    ListenerStopped,
    TelegramError,
)
from sources.telegram.holes import Holes
from sources.telegram.link import Link
from sources.telegram.media import MediaFetcher
from sources.telegram.pacing import RequestGate, Sleep, now
from sources.telegram.reconcile import Reconciliation
from storage.models import Source
from storage.records import Deletion, Event, note_of, note_text, person_note
from storage.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
Handle = Callable[[Event], Awaitable[object]]

_PAGE = 100  # messages per history request: Telegram's own maximum
_HOT = 3600  # a channel that posted within the last hour is busy: polled, re-read more often


# -- the listener ----------------------------------------------------------------------------


class Listener(Link, Channels, Reconciliation):
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
        name: str = "default",
    ) -> None:
        self.name = name  # the account's name in the settings
        # Operational state keys: the default account keeps the keys it always had.
        self.state_key = "listener" if name == "default" else f"listener.{name}"
        # The channels this account may read (source ids); None: every active one. Several
        # accounts share the channels out (the service's assignment sets this).
        self.allowed: frozenset[int] | None = None
        # Told when Telegram says this account cannot read a channel (private to it, banned).
        self.on_inaccessible: Callable[[Source, str], Awaitable[None]] | None = None
        # Told when a followed channel's @username changed on Telegram: the source as it was,
        # its new name, and whether the source took it (another source may have it).
        self.on_renamed: Callable[[Source, str, bool], Awaitable[None]] | None = None
        self._started = False
        self._adopting: asyncio.Task[None] | None = None
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
        self.gate = RequestGate(settings, self._pause)
        self.media: MediaFetcher | None = None  # downloads of posts' files (attach_media)
        self._connected = False  # what the state table says; `connected` asks the transport
        self._link = False  # the connection as the watcher last saw it
        self._down_since: float | None = None  # when the connection was seen lost
        self._last_update: float | None = None  # when Telegram last sent us an update
        self._looked: dict[int, float] = {}  # source id -> when its newest posts were last read
        self.holes = Holes(store.state, f"{self.state_key}.holes")  # ids a gap fetch left
        self._reresolved: set[int] = set()  # sources re-resolved after a stale peer this run
        self._catching_up: asyncio.Task[int] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.account: int | None = None  # the listener account's Telegram user id
        self._last_error: str | None = None
        self._handlers_added = False
        self._stop = asyncio.Event()
        self._connecting: asyncio.Task[Any] | None = None  # client.connect() in flight
        self.reconnects = 0
        self.gaps = 0

    # -- status --------------------------------------------------------------------------

    async def _error(self, note: str) -> None:
        """The last error /status shows: a note (storage.records.person_note), read in each
        person's language."""
        self._last_error = note
        await self.store.state.set(f"{self.state_key}.last_error", note)

    async def status(self) -> dict[str, Any]:
        """What /status and /healthz show: connection, FloodWait, last error, lag per source."""
        if self._watcher is not None and not self._watcher.done():
            await self.check_link()  # the report and the error agree, between two looks too
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
                    # English for operators; the note itself for the bot, which translates it.
                    "error": note_text(src.error) or None,
                    "error_note": src.error,
                }
            )
        return {
            "connected": self.connected,
            "disconnected_since": self.down_since,
            "last_update_ago": (
                round(stamp - self._last_update) if self._last_update is not None else None
            ),
            "account": self.account,
            "flood_wait_until": self.gate.flood_wait_until(),
            "last_error": note_text(self._last_error) or None,
            "last_error_note": self._last_error,
            "reconnects": self.reconnects,
            "gaps": self.gaps,
            "channels": len(self._peers),
            "max_channels": self.settings.max_channels,
            "sources": sources,
        }

    # -- sources -------------------------------------------------------------------------

    def _lock(self, source_id: int) -> asyncio.Lock:
        return self._locks.setdefault(source_id, asyncio.Lock())

    # -- start and run -------------------------------------------------------------------

    def _add_handlers(self) -> None:
        if self._handlers_added:
            return
        self.client.add_event_handler(self._on_message, events.NewMessage())
        self.client.add_event_handler(self._on_message, events.MessageEdited())
        self.client.add_event_handler(self._on_deleted, events.MessageDeleted())
        self.client.add_event_handler(self._on_update, events.Raw())
        self._handlers_added = True

    async def _on_update(self, update: Any) -> None:
        # Any update at all (not only our channels') shows the connection delivers.
        self._last_update = now()
        if isinstance(update, types.UpdateChannel):
            await self._channel_changed(update)

    async def _channel_changed(self, update: Any) -> None:
        """Telegram says a channel changed (its name, @username, ...) and sends it along (the
        entities Telethon attaches to each update): a followed channel renamed takes its new
        name now, not at its next re-read, so the posts meanwhile link to it."""
        src = self._by_peer.get(update.channel_id)
        entities = getattr(update, "_entities", None) or {}
        channel = entities.get(utils.get_peer_id(types.PeerChannel(update.channel_id)))
        if src is None or not isinstance(channel, types.Channel):
            return
        try:
            async with self._lock(src.id):
                await self._check_username(src, channel)
        except Exception:  # the next re-read sees the new name as well
            log.exception("following the rename of @%s failed", src.username)

    async def start(self) -> None:
        """Follow every active source and catch up on what was posted while we were away.

        Live handlers are attached first, but each channel's live events wait for that
        channel's catch-up, so posts are stored in id order and none slips between the two.
        """
        self._add_handlers()
        await self._account()
        await self.catch_up_all("catch-up", refresh=True)
        self._started = True

    async def catch_up_all(self, what: str = "catch-up", *, refresh: bool = False) -> int:
        """Catch up every followed channel; failures are recorded per channel. A long FloodWait
        ends the round: the next reconciliation round resumes once the wait is over."""
        sources = await self.refresh_sources() if refresh else list(self._by_peer.values())
        total = 0
        for src in sources:
            try:
                total += await self.catch_up(src)
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, what, exc)
                if isinstance(exc, FloodWaitTooLong):
                    break
        return total

    # -- history -------------------------------------------------------------------------

    async def _history(self, src: Source, *, after: int, before: int = 0, limit: int) -> list[Any]:
        """Messages with after < id < before (no upper bound when 0), oldest first."""
        out: list[Any] = []
        cursor = after
        while len(out) < limit:
            want = min(_PAGE, limit - len(out))
            page = await self._peer_request(
                src,
                f"history @{src.username}",
                partial(
                    self.client.get_messages,
                    limit=want,
                    min_id=cursor,
                    max_id=before,
                    reverse=True,
                ),
            )
            # Only ids past the cursor (and below `before`) count: a server that ignores
            # min_id must not hand old posts over again nor keep the pager going forever.
            fresh = [m for m in page if m.id > cursor and (not before or m.id < before)]
            if not fresh:
                break
            out.extend(fresh)
            cursor = max(m.id for m in fresh)
            if len(page) < want:
                break
        return out

    async def _hand(self, src: Source, messages: Iterable[Any], *, backfill: bool = False) -> int:
        count = 0
        for message in sorted(messages, key=lambda m: int(m.id)):
            if not self._may_read(src.id):
                break  # given to another account meanwhile: it reads from the stored mark
            self._seen[src.id] = max(self._seen.get(src.id, 0), int(message.id))
            post = to_post(message, src)
            if post is not None:
                try:
                    await self.handle(replace(post, backfill=True) if backfill else post)
                except Exception:  # not stored (the database refused it): kept as a hole
                    await self.holes.add(src.id, int(message.id) - 1, int(message.id) + 1)
                    raise
                count += 1
                if self.media is not None:  # the file follows, never ahead of the post
                    self.media.submit(src, message, alert=not backfill)
        return count

    async def catch_up(self, source: Source, *, before: int = 0) -> int:
        """Hand over, oldest first, every post after the last stored id (and before `before`).

        A channel we never stored from starts with its newest `jobs.reconcile_window` posts
        rather than its whole history. Returns the number of posts handed over.
        """
        async with self._lock(source.id):
            if not self._may_read(source.id):
                return 0  # given to another account while this waited
            return await self._catch_up(source, before=before)

    async def _catch_up(self, source: Source, *, before: int = 0) -> int:
        src = await self.store.sources.get(source.id) or source
        after = max(src.last_message_id, 0)
        holes = await self._fill_holes(src)
        if after == 0:
            window = min(self.jobs.reconcile_window, self.settings.catch_up_limit)
            newest = await self._peer_request(
                src,
                f"history @{src.username}",
                lambda peer: self.client.get_messages(peer, limit=window),
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
        count = await self._hand(src, messages, backfill=after == 0) + holes
        if after == 0 and messages and not count:
            # Only "channel created": recorded, or its first posts would be a first look too.
            top = max(messages, key=lambda m: int(m.id))
            await self.store.sources.advance(src.id, int(top.id), int(top.date.timestamp()))
        self._seen[src.id] = max(self._seen.get(src.id, 0), after)
        self._looked[src.id] = now()
        if count:
            log.info("caught up %d posts of @%s", count, src.username)
        return count

    async def _fill_holes(self, src: Source) -> int:
        """Fetch the posts left out (sources/telegram/holes.py), catch_up_limit a round."""
        count = 0
        limit = self.settings.catch_up_limit
        while (hole := await self.holes.first(src.id)) is not None:
            messages = await self._history(src, after=hole[0], before=hole[1], limit=limit)
            count += await self._hand(src, messages)
            if limit and len(messages) >= limit:
                await self.holes.filled(src.id, hole, max(int(m.id) for m in messages))
                break
            await self.holes.filled(src.id, hole)
        return count

    async def poll_busy(self) -> int:
        """Catch up the busy channels (a post within the hour) that sent no live update for
        `telegram.poll_interval` seconds: Telegram does not push every update of a large
        channel to a user account. Returns the number of posts found."""
        every = self.settings.poll_interval
        if not every:
            return 0
        stamp = now()
        found = 0
        for src in list(self._by_peer.values()):
            fresh = await self.store.sources.get(src.id)
            if fresh is None or fresh.last_post_at is None:
                continue
            if stamp - fresh.last_post_at.timestamp() > _HOT:
                continue
            if stamp - self._looked.get(src.id, 0.0) < every:
                continue
            try:
                found += await self.catch_up(fresh)
            except FloodWaitTooLong as exc:
                await self._error(note_of(exc))
                break
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(fresh, "poll", exc)
        return found

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
                if not self._may_read(src.id):
                    return  # given to another account while this waited
                seen = self._seen.get(src.id)
                if seen is None:
                    # Catch-up has not run (or failed): the stored mark is what we have seen.
                    fresh = await self.store.sources.get(src.id)
                    seen = fresh.last_message_id if fresh and fresh.last_message_id else None
                if seen is not None and message.id > seen + 1:
                    # An id jump: posts between were missed (or deleted); fetch them first.
                    self.gaps += 1
                    log.info("gap in @%s: %d -> %d; fetching", src.username, seen, message.id)
                    await self._fetch_gap(src, seen, message.id)
                # The channel as Telegram sent it with the post: renamed since, the post
                # already links to the new name.
                src = await self._check_username(src, getattr(event, "chat", None))
                # The post in hand is stored whatever became of the gap.
                await self._hand(src, [message])
                self._looked[src.id] = now()
        except ListenerStopped:
            return  # catch-up after the restart fetches it
        except (TelegramError, ConnectionError) as exc:
            await self._error(notes.live_failed(src.username, exc, expected=True))
            log.error("live update of @%s failed: %s", src.username, exc)
        except Exception as exc:
            # The client must keep listening; catch-up and reconciliation will retry this post.
            await self._error(notes.live_failed(src.username, exc, expected=False))
            log.exception("handling message %s of @%s failed", message.id, src.username)

    async def _fetch_gap(self, src: Source, after: int, before: int) -> None:
        limit = self.settings.catch_up_limit
        try:
            messages = await self._history(src, after=after, before=before, limit=limit)
        except (TelegramError, ConnectionError, errors.RPCError) as exc:
            # Kept for the next catch-up (reconnect, poll, reconciliation, a restart) to fill.
            await self.holes.add(src.id, after, before)
            note = notes.gap_failed(src.username, after + 1, before - 1, exc)
            await self._error(note)
            log.warning("%s", note_text(note))
            return
        await self._hand(src, messages)
        if limit and len(messages) >= limit:
            # Cut short: the post in hand moves the stored mark past the rest.
            await self.holes.add(src.id, max(int(m.id) for m in messages), before)

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
            raw=raw_json(update),
            origin="telegram",
        )
        try:
            async with self._lock(src.id):
                await self.handle(deletion)
        except Exception as exc:
            await self._error(notes.deletion_failed(src.username, exc))
            log.exception("handling a deletion in @%s failed", src.username)

    @property
    def flood_seconds(self) -> int:
        """FloodWait seconds Telegram asked of us since start (metrics)."""
        return self.gate.flood_seconds

    async def _failed(self, src: Source, what: str, exc: BaseException) -> None:
        """Record a per-channel failure where /status shows it."""
        message, out_of_reach = notes.channel_failed(src.username, exc)
        if out_of_reach:
            await self.store.sources.set_error(src.id, message)
            if self.on_inaccessible is not None:
                await self.on_inaccessible(src, note_text(message))
        await self._error(person_note("{what} {reason}", what=what, reason=message))
        log.error("%s of @%s failed: %s", what, src.username, exc)
