"""Reconciliation: re-reading each channel's recent history on a schedule.

Telegram never replays edits or deletions made while the listener was offline and does not always
push deletions, so each followed channel's newest messages are re-read at an interval that
follows its activity and compared with what we stored: new texts become versions, vanished ids
deletions, ids we never stored are handed over as missed posts.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from telethon import TelegramClient, errors, types

from sources.telegram.channels import channel_names
from sources.telegram.config import ReconcileConfig
from sources.telegram.convert import to_post
from sources.telegram.errors import FloodWaitTooLong, ListenerStopped, TelegramError
from sources.telegram.media import MediaFetcher
from sources.telegram.pacing import now
from storage.models import Source
from storage.posts import Snapshot
from storage.records import Deletion, Event, Post
from storage.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
JobWrap = Callable[[str, Callable[[], Awaitable[Any]]], Callable[[], Awaitable[Any]]]

RECONCILE_JOB = "listener.reconcile"
RECONCILE_TICK = 30  # seconds between checks for channels due a re-read
_HOT = 3600  # a channel that posted within the last hour is re-read twice as often
_QUIET = 7 * 86400  # one silent for a week, four times less often


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int = 0  # messages Telegram returned
    edited: int = 0  # texts that differed from ours, handed over as new versions
    deleted: int = 0  # stored ids Telegram no longer has
    missed: int = 0  # ids we had never stored


def _other_change(post: Post, snap: Snapshot) -> bool:
    """Whether the message changed besides its text: another picture or file than the one we
    hold (the same one with a renewed file reference is the same identity), or, for a post of
    its own, other links."""
    if None not in (post.media_key, snap.media_key) and post.media_key != snap.media_key:
        return True
    return not snap.album and post.grouped_id is None and tuple(post.links) != snap.links


class Reconciliation(ABC):
    """The re-read schedule and the comparison, for the `Listener` that owns the client, the
    request gate and the per-channel locks (the abstract methods below)."""

    client: TelegramClient
    store: Store
    handle: Callable[[Event], Awaitable[object]]
    jobs: ReconcileConfig
    _peers: dict[int, Any]
    _reconciled: dict[int, float]
    _top: dict[int, int]
    media: MediaFetcher | None

    @abstractmethod
    def _lock(self, source_id: int) -> asyncio.Lock: ...

    @abstractmethod
    async def _input_peer(self, src: Source) -> Any: ...

    @abstractmethod
    async def _request(self, what: str, call: Callable[[], Awaitable[T]]) -> T: ...

    @abstractmethod
    def _may_read(self, source_id: int) -> bool: ...

    @abstractmethod
    async def _peer_request(
        self, src: Source, what: str, call: Callable[[Any], Awaitable[T]]
    ) -> T: ...

    @abstractmethod
    async def poll_busy(self) -> int: ...

    @abstractmethod
    async def _catch_up(self, source: Source, *, before: int = 0) -> int: ...

    @abstractmethod
    async def _take_new_name(self, src: Source, new: str) -> Source: ...

    @abstractmethod
    async def _fill_holes(self, src: Source) -> int: ...

    @abstractmethod
    async def _hand(
        self, src: Source, messages: Iterable[Any], *, backfill: bool = False
    ) -> int: ...

    @abstractmethod
    async def refresh_sources(self) -> list[Source]: ...

    @abstractmethod
    async def _failed(self, src: Source, what: str, exc: BaseException) -> None: ...

    def interval(self, src: Source) -> int:
        """Seconds between re-reads: the source's own setting, else the global one, halved for
        a channel that posted in the last hour (edits and deletions follow fresh posts) and
        quadrupled for one silent for a week."""
        if src.reconcile_every:
            return int(src.reconcile_every)
        base = self.jobs.reconcile_interval
        if src.last_post_at is None:
            return base
        age = now() - src.last_post_at.timestamp()
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
            if not self._may_read(source.id):
                return ReconcileResult()  # given to another account while this waited
            result = await self._reconcile(source)
        self._reconciled[source.id] = now()
        return result

    async def _reconcile(self, source: Source) -> ReconcileResult:
        src = await self.store.sources.get(source.id) or source
        if src.last_message_id == 0:
            # Nothing stored yet (added while running, or its first catch-up failed): the first
            # look at a channel is a silent back-fill, never alerts about old posts.
            return ReconcileResult(checked=await self._catch_up(src))
        # Posts a live gap fetch left out lie below the stored mark, where no catch-up reads:
        # a channel too quiet to be polled has them fetched here.
        holes = await self._fill_holes(src)
        window = self.jobs.reconcile_window
        fetched = await self._peer_request(
            src,
            f"reconcile @{src.username}",
            lambda peer: self.client.get_messages(peer, limit=window),
        )
        messages = [m for m in fetched if not isinstance(m, types.MessageEmpty)]
        if not messages:
            return ReconcileResult(missed=holes)
        ids = {int(m.id) for m in messages}
        top = max(ids)
        self._top[src.id] = top
        src = await self._check_username(src, getattr(messages[0], "chat", None))
        if 0 < src.last_message_id < min(ids) - 1:
            # More was posted since our last stored id than the window shows: catch up first.
            await self._catch_up(src, before=min(ids))
            src = await self.store.sources.get(src.id) or src
        # Fewer than asked means the window reaches the channel's first message.
        low = min(ids) if len(fetched) >= window else 1
        high = max(top, src.last_message_id)
        stored = await self.store.posts.snapshot(src.id, low, high)
        first_stored = min(stored) if stored else src.last_message_id + 1
        changed: list[tuple[Post, Any]] = []
        missed: list[Any] = []
        for message in sorted(messages, key=lambda m: int(m.id)):
            snap = stored.get(int(message.id))
            if snap is None:
                if message.id > first_stored:
                    missed.append(message)
                continue
            post = to_post(message, src)
            if post is None:
                continue
            if _other_change(post, snap):
                # A picture swapped or a link changed under the same words: the pipeline
                # decides whether it is a new version (bot/ingest/versions.py).
                changed.append((post, message))
                continue
            if post.text == snap.text:
                continue
            if message.grouped_id is not None and not post.text.strip():
                continue  # an album item without a caption says nothing about the text
            if snap.album:
                # A captioned album member: its caption is the album post's text.
                head = await self.store.posts.get_by_link(src.username, post.message_id)
                if head is not None and head.text == post.text:
                    continue
            changed.append((post, message))
        # An album's messages each count: the pipeline keeps the album up until its last one
        # is gone, as it does for the live path's deletions.
        vanished = tuple(
            sorted(mid for mid, snap in stored.items() if mid not in ids and not snap.deleted)
        )
        missed_count = await self._hand(src, missed)
        for post, message in changed:
            await self.handle(post)
            if self.media is not None:  # a replaced picture is downloaded and read
                self.media.submit(src, message, alert=True)
        if vanished:
            log.info("@%s: %d posts vanished: %s", src.username, len(vanished), vanished)
            await self.handle(
                Deletion(
                    channel=src.username,
                    message_ids=vanished,
                    date=datetime.now(UTC),
                    channel_id=src.peer_id,
                    found=True,
                )
            )
        return ReconcileResult(len(messages), len(changed), len(vanished), missed_count + holes)

    async def _check_username(self, src: Source, channel: Any) -> Source:
        """A renamed channel still answers by its cached peer (the same channel: its id is
        ours), but its permalinks changed: the source takes the new name."""
        current = (getattr(channel, "username", None) or "").lower()
        if not current or src.username in channel_names(channel):
            return src
        return await self._take_new_name(src, current)

    async def due(self) -> list[Source]:
        """Sources whose re-read interval has elapsed, most overdue first."""
        stamp = now()
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
        the channels left over are the most overdue next time. Busy channels are polled
        first (`poll_busy`)."""
        results: dict[str, ReconcileResult] = {}
        try:
            await self.refresh_sources()
            await self.poll_busy()
            for src in (await self.due())[:limit]:
                try:
                    results[src.username] = await self.reconcile(src)
                except FloodWaitTooLong as exc:
                    log.warning("reconciliation paused: %s", exc)
                    break
                except (TelegramError, ConnectionError, errors.RPCError) as exc:
                    await self._failed(src, "reconcile", exc)
        except ListenerStopped:
            pass  # the service is stopping: the round resumes after the restart
        return results

    def schedule(
        self, scheduler: Any, *, every: int = RECONCILE_TICK, wrap: JobWrap | None = None
    ) -> None:
        """Add the reconciliation job to an APScheduler 3 AsyncIOScheduler. It ticks often;
        each tick re-reads only the channels that are due, so a round never overlaps the
        next (one instance) and missed ticks collapse into one. `wrap` is the service's job
        guard (logging context and the job counters)."""
        func: Callable[[], Awaitable[Any]] = self.reconcile_due
        scheduler.add_job(
            wrap(RECONCILE_JOB, func) if wrap is not None else func,
            "interval",
            seconds=every,
            id=RECONCILE_JOB,
            name="re-read recent channel history",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=every,
            replace_existing=True,
        )
