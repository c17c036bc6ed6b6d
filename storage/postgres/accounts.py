"""Account leases and the assignment on PostgreSQL: several listener processes run the
assignment one at a time (a transaction-level advisory lock, released at commit), and a lease is
renewed straight on the pool, never queued behind this process's ingest transactions."""

from __future__ import annotations

from typing import cast

from storage.accounts import AccountRepo
from storage.db import now
from storage.postgres.db import PgDatabase, driver_errors

ASSIGNMENT_LOCK = (0x7779, 1)  # advisory lock key: (space, key)


class PgAccountRepo(AccountRepo):
    async def lock(self) -> None:
        await self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", ASSIGNMENT_LOCK)

    async def renew(self, account: str, holder: str, ttl: int) -> bool:
        pg = cast(PgDatabase, self.db)
        stamp = now()
        with driver_errors():
            status = await pg.pool.execute(
                "UPDATE account_leases SET renewed_at = $1, expires_at = $2"
                " WHERE account = $3 AND holder = $4",
                stamp,
                stamp + ttl,
                account,
                holder,
            )
        return str(status).endswith(" 1")
