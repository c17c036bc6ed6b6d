"""Holes: ranges of a channel's message ids that were seen missing but not stored.

A live post whose id jumps past the last one seen means posts between were not pushed; the
listener fetches them before storing the post in hand. When that fetch fails (a long FloodWait,
the connection gone, Telegram refusing) or stops at `telegram.catch_up_limit`, the post in hand
is stored anyway and the stored mark (the highest stored id) passes the posts left out: the
catch-up after the mark never reads them again. The same goes for a post the pipeline failed to
store (the database refused it) once a later one is stored. So each such range is kept here, in
the state table rather than in memory, and every catch-up and reconciliation fetches it first:
a restart (an operator restarting through a long FloodWait) no longer loses those posts.
"""

from __future__ import annotations

import json
import logging

from storage.state import StateRepo

log = logging.getLogger(__name__)

Hole = tuple[int, int]  # (after, before): the ids strictly between are missing


class Holes:
    """Holes by source id, each source's under a state key of its own (`holes.<source id>`),
    read from the table every time: with several listener accounts (PostgreSQL) a channel
    moves to another account when its reader stops or is rate-limited, and the account that
    reads it next must fetch what the last one left out. They were kept per account (under
    `key`, still read once for what was saved that way), so the new reader never saw them and
    those posts were never fetched."""

    def __init__(self, state: StateRepo, key: str) -> None:
        self._state = state
        self._key = key  # the per-account key older versions saved under
        # Ranges a save failed for (the database may be what failed): kept here, saved with
        # the next change of their source.
        self._unsaved: dict[int, list[Hole]] = {}
        self._moved = False

    @staticmethod
    def _source_key(source_id: int) -> str:
        return f"holes.{source_id}"

    async def _move_old(self) -> None:
        """Holes an older version saved under the account's key go to their sources' keys."""
        if self._moved:
            return
        row = await self._state.get(self._key)
        if row is not None and row[0] not in ("", "{}"):
            try:
                data = json.loads(row[0])
                old = {
                    int(sid): [(int(a), int(b)) for a, b in ranges] for sid, ranges in data.items()
                }
            except (ValueError, TypeError, AttributeError) as exc:
                log.error("the listener's saved gaps (%s) cannot be read: %s", self._key, exc)
                old = {}
            for sid, ranges in old.items():
                await self._save(sid, sorted({*await self._read(sid), *ranges}))
            await self._state.set(self._key, "{}")
        self._moved = True

    async def _read(self, source_id: int) -> list[Hole]:
        row = await self._state.get(self._source_key(source_id))
        ranges: set[Hole] = set(self._unsaved.get(source_id, []))
        if row is not None:
            try:
                ranges.update((int(a), int(b)) for a, b in json.loads(row[0]))
            except (ValueError, TypeError) as exc:
                log.error("the saved gaps of source %s cannot be read: %s", source_id, exc)
        return sorted(ranges)

    async def _save(self, source_id: int, ranges: list[Hole]) -> None:
        await self._state.set(self._source_key(source_id), json.dumps(sorted(ranges)))
        self._unsaved.pop(source_id, None)

    async def first(self, source_id: int) -> Hole | None:
        await self._move_old()
        for sid in list(self._unsaved):
            if sid != source_id:
                await self._save(sid, await self._read(sid))
        ranges = await self._read(source_id)
        return ranges[0] if ranges else None

    async def add(self, source_id: int, after: int, before: int) -> None:
        if before - after <= 1:
            return  # nothing between
        ranges: list[Hole] = list(self._unsaved.get(source_id, []))
        try:
            await self._move_old()
            ranges = await self._read(source_id)
            if (after, before) not in ranges:
                ranges.append((after, before))
            await self._save(source_id, ranges)
        except Exception as exc:
            # The database may be what failed: the hole is kept here and saved with the next.
            if (after, before) not in ranges:
                ranges.append((after, before))
            self._unsaved[source_id] = sorted(ranges)
            log.warning("the listener's gaps could not be saved (%s); kept in memory", exc)

    async def filled(self, source_id: int, hole: Hole, reached: int | None = None) -> None:
        """The hole was fetched; up to `reached` only when the fetch stopped at its limit."""
        await self._move_old()
        ranges = await self._read(source_id)
        if hole in ranges:
            ranges.remove(hole)
        if reached is not None and hole[1] - reached > 1:
            ranges.append((reached, hole[1]))
        await self._save(source_id, ranges)
