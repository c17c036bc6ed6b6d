"""The `Store` on PostgreSQL: the SQLite repositories over `PgDatabase`, plus the twins of the
few methods PostgreSQL spells differently."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from storage.db import Database
from storage.postgres.accounts import PgAccountRepo
from storage.postgres.db import NAMED_LOCKS, PgDatabase, driver_errors
from storage.postgres.ingest import PgIngestRepo, PgPostRepo
from storage.postgres.repos import (
    OUTBOX_CHANNEL,
    PgAlertRepo,
    PgMediaRepo,
    PgSearchRepo,
    PgSourceRepo,
)
from storage.store import Store


class PgStore(Store):
    def __init__(self, db: PgDatabase) -> None:
        # The repositories only call what PgDatabase offers in Database's shape.
        shaped = cast(Database, db)
        super().__init__(shaped)
        self.pg = db
        self.search = PgSearchRepo(shaped)
        self.sources = PgSourceRepo(shaped)
        self.alerts = PgAlertRepo(shaped)
        self.media = PgMediaRepo(shaped)
        self.accounts = PgAccountRepo(shaped)
        self.posts = PgPostRepo(shaped)
        self.ingest = PgIngestRepo(self)

    async def try_lease(self, name: str) -> bool:
        """An advisory lock on `name`, held by this process's lease connection until it ends,
        however it ends (a SIGKILLed listener's session is free at once)."""
        return await self.pg.try_named_lock(name)

    async def lease_holder(self, name: str) -> int | None:
        with driver_errors():
            row = await self.pg.pool.fetchrow(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = $1 AND objid::int8 = (hashtext($2)::int8 & 4294967295)"
                " AND objsubid = 2",
                NAMED_LOCKS,
                name,
            )
        return int(row[0]) if row else None

    async def server(self) -> str:
        with driver_errors():
            version = await self.pg.pool.fetchval("SHOW server_version")
        return f"PostgreSQL {version}"

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        await self.pg.listen(OUTBOX_CHANNEL, wake)

    @classmethod
    async def open(cls, path: object, *, read_only: bool = False) -> Store:
        return cls(await PgDatabase.open(str(path), read_only=read_only))
