"""Alert rules. Only rules that parsed are stored; `compiled` holds the parsed form as JSON."""

from __future__ import annotations

import json
from typing import Any

from storage.db import Database, now
from storage.models import Rule

# Changes whenever a rule is added, changed or removed (triggers of migration 0016).
RULES_VERSION = "SELECT n FROM rules_version WHERE id = 1"


class RuleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        query: str,
        compiled: Any,
        *,
        owner_id: int | None = None,
        source_id: int | None = None,
        priority: int = 0,
        created_by: int | None = None,
    ) -> Rule:
        rid = await self.db.execute(
            "INSERT INTO rules (owner_id, query, compiled, source_id, priority, created_at,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                owner_id,
                query,
                json.dumps(compiled, ensure_ascii=False),
                source_id,
                priority,
                now(),
                created_by,
            ),
        )
        rule = await self.get(rid)
        assert rule is not None
        return rule

    async def get(self, rule_id: int) -> Rule | None:
        row = await self.db.fetchone("SELECT * FROM rules WHERE id = ?", (rule_id,))
        return Rule.from_row(row) if row else None

    async def find(self, query: str, owner_id: int | None) -> Rule | None:
        row = await self.db.fetchone(
            "SELECT * FROM rules WHERE query = ? AND owner_id IS ? AND active = 1",
            (query, owner_id),
        )
        return Rule.from_row(row) if row else None

    async def list(
        self, *, active_only: bool = True, owner_id: int | None = None, include_desk: bool = True
    ) -> list[Rule]:
        where: list[str] = []
        params: list[object] = []
        if active_only:
            where.append("active = 1")
        if owner_id is not None:
            where.append("(owner_id = ?" + (" OR owner_id IS NULL)" if include_desk else ")"))
            params.append(owner_id)
        sql = "SELECT * FROM rules" + (" WHERE " + " AND ".join(where) if where else "")
        return [Rule.from_row(r) for r in await self.db.fetchall(sql + " ORDER BY id", params)]

    async def remove(self, rule_id: int) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE rules SET active = 0 WHERE id = ? AND active = 1", (rule_id,)
            )
            return cur.rowcount > 0

    async def version(self) -> int:
        """Changes whenever a rule is added, changed or removed, so a compiled matcher knows
        to rebuild."""
        row = await self.db.fetchone(RULES_VERSION)
        assert row is not None
        return int(row[0])
