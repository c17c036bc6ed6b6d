"""The account assignment's lock on PostgreSQL: several listener processes run the assignment,
one at a time (a transaction-level advisory lock, released at commit)."""

from __future__ import annotations

from storage.accounts import AccountRepo

ASSIGNMENT_LOCK = (0x7779, 1)  # advisory lock key: (space, key)


class PgAccountRepo(AccountRepo):
    async def lock(self) -> None:
        await self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", ASSIGNMENT_LOCK)
