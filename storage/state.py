"""Operational facts (last error, FloodWait, listener state) and the admin audit log."""

from __future__ import annotations

from storage.db import Database, now


class StateRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO state (key, value, at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at",
            (key, value, now()),
        )

    async def claim(self, key: str, value: str) -> bool:
        """Set `key` only if nobody has: True for the one caller (of every process on a shared
        database) that did. What makes a thing done once, in the caller's transaction."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO state (key, value, at) VALUES (?, ?, ?)",
                (key, value, now()),
            )
            return bool(cur.rowcount)

    async def get(self, key: str) -> tuple[str, int] | None:
        row = await self.db.fetchone("SELECT value, at FROM state WHERE key = ?", (key,))
        return (str(row[0]), int(row[1])) if row else None

    async def all(self) -> dict[str, tuple[str, int]]:
        rows = await self.db.fetchall("SELECT key, value, at FROM state ORDER BY key")
        return {r[0]: (r[1], int(r[2])) for r in rows}

    async def audit(self, actor: int | None, action: str, detail: str = "") -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (now(), actor, action, detail[:2000]),
        )

    async def audit_log(self, limit: int = 50) -> list[tuple[int, int | None, str, str]]:
        rows = await self.db.fetchall(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [(int(r[0]), r[1], r[2], r[3] or "") for r in rows]
