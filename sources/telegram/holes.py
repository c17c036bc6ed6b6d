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
    """The holes of one listener account, by source id, saved under `key` in the state table."""

    def __init__(self, state: StateRepo, key: str) -> None:
        self._state = state
        self._key = key
        self._holes: dict[int, list[Hole]] = {}
        self._loaded = False

    async def _load(self) -> None:
        if self._loaded:
            return
        row = await self._state.get(self._key)
        if row is not None:
            try:
                data = json.loads(row[0])
                loaded = {
                    int(sid): sorted((int(a), int(b)) for a, b in ranges)
                    for sid, ranges in data.items()
                }
            except (ValueError, TypeError, AttributeError) as exc:
                log.error("the listener's saved gaps (%s) cannot be read: %s", self._key, exc)
                loaded = {}
            for sid, ranges in loaded.items():
                self._holes[sid] = sorted({*self._holes.get(sid, []), *ranges})
        self._loaded = True

    async def _save(self) -> None:
        data = {str(sid): ranges for sid, ranges in self._holes.items() if ranges}
        await self._state.set(self._key, json.dumps(data, sort_keys=True))

    async def first(self, source_id: int) -> Hole | None:
        await self._load()
        ranges = self._holes.get(source_id)
        return ranges[0] if ranges else None

    async def add(self, source_id: int, after: int, before: int) -> None:
        if before - after <= 1:
            return  # nothing between
        await self._load()
        ranges = self._holes.setdefault(source_id, [])
        if (after, before) not in ranges:
            ranges.append((after, before))
            ranges.sort()
        try:
            await self._save()
        except Exception as exc:
            # The database may be what failed: the hole is kept here and saved with the next.
            log.warning("the listener's gaps could not be saved (%s); kept in memory", exc)

    async def filled(self, source_id: int, hole: Hole, reached: int | None = None) -> None:
        """The hole was fetched; up to `reached` only when the fetch stopped at its limit."""
        await self._load()
        ranges = self._holes.get(source_id, [])
        if hole in ranges:
            ranges.remove(hole)
        if reached is not None and hole[1] - reached > 1:
            ranges.append((reached, hole[1]))
            ranges.sort()
        await self._save()
