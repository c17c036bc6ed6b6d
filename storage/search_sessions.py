"""Search paging sessions: the query and the cursor of every page a person has seen, so a
paging button (`page:<token>:<n>`) keeps working after a restart. Bounded by count and age."""

from __future__ import annotations

import json

from storage.db import Database, now

Cursor = tuple[int, int]


class SearchSessionRepo:
    def __init__(self, db: Database, *, keep: int = 1000, max_age_days: int = 7) -> None:
        self.db = db
        self.keep = keep
        self.max_age = max_age_days * 86400

    async def create(self, token: str, user_id: int, query: str) -> None:
        stamp = now()
        await self.db.execute(
            "INSERT INTO search_sessions (token, user_id, query, cursors, used_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token, user_id, query, "[null]", stamp),
        )
        # The oldest go: a week-old result's buttons, and those beyond the `keep` newest.
        await self.db.execute(
            "DELETE FROM search_sessions WHERE used_at < ? OR used_at <= (SELECT used_at FROM"
            " search_sessions ORDER BY used_at DESC LIMIT 1 OFFSET ?)",
            (stamp - self.max_age, self.keep),
        )

    async def get(self, token: str, user_id: int) -> tuple[str, list[Cursor | None]] | None:
        """(query, cursors) of `user_id`'s session; None when unknown, pruned or another
        person's."""
        row = await self.db.fetchone(
            "SELECT query, cursors FROM search_sessions WHERE token = ? AND user_id = ?",
            (token, user_id),
        )
        if row is None:
            return None
        cursors: list[Cursor | None] = [
            (int(c[0]), int(c[1])) if c is not None else None for c in json.loads(row[1])
        ]
        return str(row[0]), cursors

    async def owner(self, token: str) -> int | None:
        """Whose session `token` is (None when unknown or pruned)."""
        row = await self.db.fetchone(
            "SELECT user_id FROM search_sessions WHERE token = ?", (token,)
        )
        return int(row[0]) if row is not None else None

    async def save(self, token: str, cursors: list[Cursor | None]) -> None:
        await self.db.execute(
            "UPDATE search_sessions SET cursors = ?, used_at = ? WHERE token = ?",
            (json.dumps([list(c) if c else None for c in cursors]), now(), token),
        )
