"""One object that holds the database and every repository: what the composition root builds."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from storage.accounts import AccountRepo
from storage.alerts import AlertRepo
from storage.db import Database, DatabaseDown, StorageError
from storage.evidence import EvidenceRepo
from storage.ingest import IngestRepo
from storage.media import MediaRepo
from storage.people import PeopleRepo
from storage.postgres import is_postgres_url
from storage.posts import PostRepo
from storage.rules import RuleRepo
from storage.search import SearchRepo
from storage.search_sessions import SearchSessionRepo
from storage.sources import SourceRepo
from storage.state import StateRepo
from storage.translations import TranslationRepo

# What a failing database raises past the repositories: callers catch these, never a driver's
# own exception classes (storage/postgres turns asyncpg's into StorageError at its boundary, so
# a SQLite deployment never imports the PostgreSQL driver).
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, StorageError)
# The database itself failing (locked, disk full, I/O, server gone), as opposed to what was
# asked of it.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,
    DatabaseDown,
    ConnectionError,
)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sources = SourceRepo(db)
        self.posts = PostRepo(db)
        self.rules = RuleRepo(db)
        self.people = PeopleRepo(db)
        self.alerts = AlertRepo(db)
        self.search = SearchRepo(db)
        self.state = StateRepo(db)
        self.evidence = EvidenceRepo(db)
        self.media = MediaRepo(db)
        self.translations = TranslationRepo(db)
        self.search_sessions = SearchSessionRepo(db)
        self.accounts = AccountRepo(db)
        self.ingest = IngestRepo(db)

    @classmethod
    async def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """A file path (or ":memory:") opens SQLite; a `postgresql://` URL opens PostgreSQL.
        The one place the back end is chosen (WIREWATCH_DB). `read_only`: for commands that
        only read; an SQLite file is then never created, chmodded, migrated nor written
        (storage/access.py), and PostgreSQL's sessions are read-only."""
        if is_postgres_url(path):
            from storage.postgres.store import PgStore  # imports this module

            return await PgStore.open(path, read_only=read_only)
        return cls(await Database.open(path, read_only=read_only))

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Repository calls inside commit together or not at all."""
        async with self.db.transaction():
            yield

    async def try_lease(self, name: str) -> bool:
        """Hold `name` (say, a Telegram session) for as long as this process runs; False if
        another process holds it. One SQLite file serves one process: always True."""
        return True

    async def lease_holder(self, name: str) -> int | None:
        """The server process id of the connection holding lease `name`, None if free (and
        always None on SQLite, which has no leases)."""
        return None

    async def server(self) -> str:
        """What serves the database, for `doctor`."""
        return f"SQLite {sqlite3.sqlite_version}"

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Call `wake` when another process queues an alert. With SQLite one process does both,
        and the pipeline wakes its notifier itself."""
        return None

    async def integrity_check(self) -> str:
        return await self.db.integrity_check()

    async def schema_version(self) -> int:
        return await self.db.user_version()

    async def size_bytes(self) -> int:
        return await self.db.size_bytes()
