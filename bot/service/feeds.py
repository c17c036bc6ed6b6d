"""JSONL feeds followed by the service: each line ingested once, the offset saved after its
commit, a line that keeps failing for its own sake skipped (and reported) after a few tries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.service.health import Metrics
from storage.records import Deletion, Event
from storage.store import DATABASE_DOWN, Store

log = logging.getLogger(__name__)

POISON_ATTEMPTS = 3  # tries before a feed line that keeps failing is skipped
FEED_STATE = "feed.offset:"  # state key prefix; the feed's absolute path follows
# A feed line failing on these is the database's or the disk's fault, not the line's.
_OUTAGE_ERRORS: tuple[type[Exception], ...] = (*DATABASE_DOWN, OSError)


def _event_id(event: Event) -> str:
    ids = event.message_ids if isinstance(event, Deletion) else (event.message_id,)
    return f"@{event.channel}/{','.join(str(i) for i in ids)}"


class _Stopping(Exception):
    """Raised into a feed follower when a stop was asked: the line is left for the restart."""


def feed_state_key(path: Path) -> str:
    return FEED_STATE + str(path)


class FeedFollower:
    def __init__(
        self,
        store: Store,
        ingest: Callable[[Event], Awaitable[object]],
        stop: asyncio.Event,
        metrics: Metrics,
        *,
        poll: float,
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.stop = stop
        self.metrics = metrics
        self.poll = poll
        self.offsets: dict[str, int] = {}
        self.skipped = 0

    async def _line(self, event: Event) -> None:
        """One feed event. A line that keeps failing for its own sake is skipped after
        POISON_ATTEMPTS tries, logged and reported, so one bad line cannot stall the feed
        forever; database and disk trouble is not the line's fault and is retried as long as
        it lasts (the supervisor restarts the follower at the same offset)."""
        for attempt in range(1, POISON_ATTEMPTS + 1):
            if self.stop.is_set():
                raise _Stopping
            try:
                await self.ingest(event)
                return
            except _OUTAGE_ERRORS:
                raise
            except Exception as exc:  # deliberately broad: any other failure is the line's own
                if attempt < POISON_ATTEMPTS:
                    log.warning(
                        "feed event %s failed (attempt %d): %s", _event_id(event), attempt, exc
                    )
                    await asyncio.sleep(0.1 * attempt)
                    continue
                log.exception("feed event %s skipped after %d attempts", _event_id(event), attempt)
                self.skipped += 1
                await self.store.state.set(
                    "feed.last_skipped", f"{_event_id(event)}: {type(exc).__name__}: {exc}"
                )

    async def follow(self, path: Path) -> None:
        from sources.jsonl import follow_feed

        store = self.store
        key = feed_state_key(path)
        saved = await store.state.get(key)
        offset = int(saved[0]) if saved else 0
        self.offsets[str(path)] = offset
        log.info("following feed %s from byte %d", path, offset)

        async def remember(value: int) -> None:
            # After the event's own commit: a crash in between replays one line, harmlessly.
            await store.state.set(key, str(value))
            self.offsets[str(path)] = value
            self.metrics.feed_offset.labels(path.name).set(value)

        try:
            await follow_feed(
                path,
                self._line,
                offset=offset,
                stop=self.stop,
                on_offset=remember,
                poll_interval=self.poll,
            )
        except _Stopping:
            log.info("feed %s stopped at byte %d", path, self.offsets[str(path)])
