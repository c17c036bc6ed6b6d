"""The PostgreSQL connection pool, dressed as `storage.db.Database` so the repositories run on it.

The repositories speak SQLite's dialect through `fetchone`, `fetchall`, `execute`,
`executemany` and `transaction()` (whose connection's `execute` returns a cursor). This module
offers the same calls on an asyncpg pool and translates the SQL once per statement: `?` marks
become `$1, $2, ...`, `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `IS ?` becomes
`IS NOT DISTINCT FROM`, and an INSERT into a table with an `id` gets `RETURNING id` so
`lastrowid` means what it means in SQLite. SQL that only SQLite understands (PRAGMA, FTS5
MATCH, ...) raises `StorageError` naming the statement instead of failing somewhere deeper.

Transactions are serialised within a process, as SQLite's are, so code written for one writer
per process behaves the same here; other processes are separate writers (PostgreSQL's row
locks and `ON CONFLICT` keep them apart).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from importlib import resources
from typing import Any

import asyncpg

from storage.db import DatabaseDown, SchemaBehind, StorageError
from storage.postgres import redact

log = logging.getLogger(__name__)

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# pg_advisory_lock key for migrations: two processes starting at once migrate one at a time.
MIGRATION_LOCK = 0x77770001
NAMED_LOCKS = 0x7778  # advisory lock space for named leases: (NAMED_LOCKS, hashtext(name))
_SQLITE_ONLY = re.compile(
    r"\bPRAGMA\b|\bMATCH\b|\bINSERT\s+OR\s+REPLACE\b|\browid\b|\bjson_extract\b|"
    r"\bstrftime\b|\bjulianday\b|\bGROUP_CONCAT\b|\bposts_fts\b|"
    r"\b(?:MAX|MIN)\s*\([^()]*,",  # SQLite's two-argument MAX/MIN are GREATEST/LEAST here
    re.IGNORECASE,
)
_ROWS_RE = re.compile(r"^\s*(SELECT|WITH|VALUES|EXPLAIN)\b", re.I)
_RETURNING_RE = re.compile(r"\bRETURNING\b", re.I)
_INSERT_RE = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


# The server went away or cannot be reached (the rest is an error in what was asked).
_DOWN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    OSError,
)


@contextmanager
def driver_errors() -> Iterator[None]:
    """asyncpg's exceptions as ours: callers catch `storage.store.DATABASE_ERRORS`, which must
    not name a driver class (that would load asyncpg in every SQLite deployment)."""
    try:
        yield
    except _DOWN as exc:
        raise DatabaseDown(f"PostgreSQL unavailable: {type(exc).__name__}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise StorageError(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc


@cache
def migrations() -> tuple[tuple[int, str, str], ...]:
    """(number, file name, SQL) for every bundled PostgreSQL migration, in order; read once a
    process, as storage.db.migrations."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("storage.postgres.migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found))


def _number_marks(sql: str) -> str:
    """`?` -> `$n` outside quoted literals and identifiers."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def translate(sql: str, id_tables: frozenset[str], *, returning: bool = True) -> str:
    """The repositories' SQLite-flavoured statement in PostgreSQL's dialect."""
    if _SQLITE_ONLY.search(sql):
        raise StorageError(f"SQLite-only SQL reached PostgreSQL; give it a twin: {sql[:200]}")
    out = sql
    insert = _INSERT_RE.match(out)
    if insert and insert.group(1):
        out = _INSERT_RE.sub(f"INSERT INTO {insert.group(2)}", out, count=1)
        out += " ON CONFLICT DO NOTHING"
    out = re.sub(r"\bIS\s+\?", "IS NOT DISTINCT FROM ?", out, flags=re.I)
    out = re.sub(r"\bIFNULL\s*\(", "COALESCE(", out, flags=re.I)
    if (
        returning
        and insert
        and insert.group(2).lower() in id_tables
        and not re.search(r"\bRETURNING\b", out, re.I)
    ):
        out += " RETURNING id"
    return _number_marks(out)


def pg_arg(p: Any) -> Any:
    # SQLite stores booleans as 0/1 and the schema keeps those columns BIGINT.
    if isinstance(p, bool):
        return int(p)
    # PostgreSQL's text cannot hold a NUL: a search or a name pasted with one was refused
    # ("invalid byte sequence for encoding UTF8: 0x00"). Posts lose theirs in `Post` already.
    if isinstance(p, str) and "\x00" in p:
        return p.replace("\x00", "")
    return p


def _args(params: Sequence[Any] | Iterable[Any]) -> list[Any]:
    return [pg_arg(p) for p in params]


def _rowcount(status: str | None) -> int:
    """asyncpg's command tag ("UPDATE 3", "INSERT 0 1") -> rows affected."""
    if not status:
        return 0
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PgCursor:
    """What a repository reads after `conn.execute`: rows, lastrowid, rowcount."""

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return list(self._rows)


class _Pending:
    """`await conn.execute(...)` and `async with conn.execute(...) as cur`, as in aiosqlite."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> PgCursor:
        return await self._run  # type: ignore[no-any-return]

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConn:
    """One pooled connection inside a transaction, with aiosqlite's `execute` shape."""

    def __init__(self, db: PgDatabase, conn: Any) -> None:
        self.db = db
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Pending:
        return _Pending(self._execute(sql, params))

    async def _execute(self, sql: str, params: Sequence[Any]) -> PgCursor:
        with driver_errors():
            return await self._run(sql, params)

    async def _run(self, sql: str, params: Sequence[Any]) -> PgCursor:
        text = self.db.translate(sql)
        args = _args(params)
        if _ROWS_RE.match(text) or _RETURNING_RE.search(text):
            # asyncpg's fetch drops the command tag; for these the rows are the count.
            rows = list(await self.raw.fetch(text, *args))
            if text.endswith(" RETURNING id"):
                return PgCursor([], len(rows), int(rows[-1][0]) if rows else None)
            return PgCursor(rows, len(rows), None)
        status = await self.raw.execute(text, *args)
        return PgCursor([], _rowcount(status), None)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text = self.db.translate(sql, returning=False)
        with driver_errors():
            await self.raw.executemany(text, [_args(r) for r in rows])


class PgDatabase:
    """The pool plus the calls `storage.db.Database` offers the repositories."""

    def __init__(
        self,
        pool: Any,
        url: str,
        id_tables: frozenset[str],
        *,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.url = url
        self._settings = settings  # the sessions' server settings (read-only: see open)
        self.path = url  # what logs and messages show where SQLite shows a file
        self._id_tables = id_tables
        self._lock = asyncio.Lock()
        self._tx: dict[asyncio.Task[Any], PgConn] = {}
        self._sql: dict[tuple[str, bool], str] = {}
        # Connections of their own: advisory locks live as long as the session that took them
        # (so a killed process frees its leases at once), and LISTEN needs one that stays open.
        self._lease_conn: Any = None
        self._lease_lock = asyncio.Lock()
        self._listen_conn: Any = None
        # What those sessions hold, to take again on a new one when the server drops them (a
        # restart, a failover, a cut network): otherwise the leases were free for any other
        # process and the LISTENs deaf until this process restarted.
        self._held: set[str] = set()
        self._listeners: list[tuple[str, Callable[[], None]]] = []
        self._redo: set[asyncio.Task[None]] = set()
        self._closing = False

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, max_size: int = 10, read_only: bool = False
    ) -> PgDatabase:
        """`read_only`: for commands that only read. Every session starts read-only
        (`default_transaction_read_only`, what SET SESSION CHARACTERISTICS AS TRANSACTION READ
        ONLY sets), so no statement can write whatever the role may do, and the schema is
        checked, never migrated: a running service of another version keeps its own."""
        settings = {"default_transaction_read_only": "on"} if read_only else None
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=max_size, server_settings=settings
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseDown(f"cannot reach PostgreSQL at {redact(url)}: {exc}") from exc
        try:
            if read_only:
                await _check_version(pool, url)
            elif migrate:
                await migrate_pool(pool)
            rows = await pool.fetch(
                "SELECT table_name FROM information_schema.columns"
                " WHERE column_name = 'id' AND table_schema = current_schema()"
            )
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url, frozenset(str(r[0]) for r in rows), settings=settings)

    def translate(self, sql: str, *, returning: bool = True) -> str:
        key = (sql, returning)
        text = self._sql.get(key)
        if text is None:
            text = self._sql[key] = translate(sql, self._id_tables, returning=returning)
        return text

    async def close(self) -> None:
        self._closing = True
        for task in list(self._redo):
            task.cancel()
        await asyncio.gather(*self._redo, return_exceptions=True)
        for conn in (self._lease_conn, self._listen_conn):
            if conn is not None and not conn.is_closed():
                await conn.close()
        await self.pool.close()

    async def _session(self, kind: str) -> Any:
        """A connection of its own that, when the server drops it, is made again and given
        back what it held (`_restore`)."""
        conn = await asyncpg.connect(self.url, server_settings=self._settings)
        conn.add_termination_listener(lambda _conn: self._dropped(kind))
        return conn

    def _dropped(self, kind: str) -> None:
        if self._closing:
            return
        log.warning("PostgreSQL dropped this process's %s connection; making it again", kind)
        task = asyncio.get_running_loop().create_task(self._restore(kind))
        self._redo.add(task)
        task.add_done_callback(self._redo.discard)

    async def _restore(self, kind: str, *, first_wait: float = 0.2, most: float = 30.0) -> None:
        wait = first_wait
        while not self._closing:
            try:
                if kind == "lease":
                    await self._retake()
                else:
                    await self._relisten()
                return
            except (*_DOWN, asyncpg.PostgresError) as exc:
                log.warning("PostgreSQL %s connection not back yet: %s", kind, exc)
            await asyncio.sleep(wait)
            wait = min(wait * 2, most)

    async def _retake(self) -> None:
        async with self._lease_lock:
            if self._lease_conn is None or self._lease_conn.is_closed():
                self._lease_conn = await self._session("lease")
            for name in sorted(self._held):
                if not await self._lease_conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))", NAMED_LOCKS, name
                ):
                    self._held.discard(name)
                    log.error(
                        "lease %s was taken by another process while this one's connection"
                        " was down: two processes may now run it; stop one",
                        name,
                    )

    async def _relisten(self) -> None:
        if self._listen_conn is None or self._listen_conn.is_closed():
            self._listen_conn = await self._session("listen")
        for channel, callback in self._listeners:
            await self._listen_conn.add_listener(channel, _notified(callback))
        # What was announced while nobody listened is looked at now.
        for _, callback in self._listeners:
            callback()

    async def try_named_lock(self, name: str) -> bool:
        async with self._lease_lock:
            with driver_errors():
                if self._lease_conn is None or self._lease_conn.is_closed():
                    self._lease_conn = await self._session("lease")
                taken = bool(
                    await self._lease_conn.fetchval(
                        "SELECT pg_try_advisory_lock($1, hashtext($2))", NAMED_LOCKS, name
                    )
                )
        if taken:
            self._held.add(name)
        return taken

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """Call `callback` on every NOTIFY on `channel` (from any process), and once when the
        connection that listens is made again after the server dropped it."""
        with driver_errors():
            if self._listen_conn is None or self._listen_conn.is_closed():
                self._listen_conn = await self._session("listen")
            await self._listen_conn.add_listener(channel, _notified(callback))
        self._listeners.append((channel, callback))

    def _current(self) -> PgConn | None:
        task = asyncio.current_task()
        return self._tx.get(task) if task is not None else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConn]:
        """Re-entrant within one task, like SQLite's: a repository call that writes joins the
        caller's transaction instead of committing half of it."""
        task = asyncio.current_task()
        held = self._current()
        if held is not None:
            yield held
            return
        assert task is not None
        # Translated around the whole block: BEGIN, COMMIT and losing the connection raise too.
        async with self._lock:
            with driver_errors():
                async with self.pool.acquire() as raw, raw.transaction():
                    conn = PgConn(self, raw)
                    self._tx[task] = conn
                    try:
                        yield conn
                    finally:
                        del self._tx[task]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        held = self._current()
        if held is not None:
            return await (await held.execute(sql, params)).fetchone()
        with driver_errors():
            return await self.pool.fetchrow(self.translate(sql, returning=False), *_args(params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        held = self._current()
        if held is not None:
            return await (await held.execute(sql, params)).fetchall()
        with driver_errors():
            rows = await self.pool.fetch(self.translate(sql, returning=False), *_args(params))
        return list(rows)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write in its own transaction; returns lastrowid."""
        async with self.transaction() as conn:
            cur = await conn.execute(sql, params)
            return cur.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def run(self, work: object) -> Any:
        raise StorageError("Database.run hands SQLite's own connection over; give it a twin")

    async def user_version(self) -> int:
        with driver_errors():
            row = await self.pool.fetchrow(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
            )
        return int(row[0]) if row else 0

    async def integrity_check(self) -> str:
        """PostgreSQL checks its own pages; what can be wrong here is the schema's version."""
        latest = migrations()[-1][0]
        have = await self.user_version()
        return "ok" if have == latest else f"schema v{have}, this wirewatch expects v{latest}"

    async def size_bytes(self) -> int:
        with driver_errors():
            row = await self.pool.fetchrow("SELECT pg_database_size(current_database())")
        return int(row[0]) if row else 0


def _notified(callback: Callable[[], None]) -> Callable[..., None]:
    return lambda *_: callback()


async def migrate_pool(pool: Any) -> None:
    """Apply the bundled migrations not applied yet, each in its own transaction, one process
    at a time (an advisory lock), recording each in `schema_migrations`."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await _check_server(conn)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            current = int(
                await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            )
            known = migrations()
            latest = known[-1][0] if known else 0
            if current > latest:
                raise StorageError(
                    f"database schema version {current} is newer than this wirewatch ({latest});"
                    " upgrade wirewatch"
                )
            for number, name, sql in known:
                if number <= current:
                    continue
                log.info("applying PostgreSQL migration %s", name)
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES ($1, $2, $3)",
                        number,
                        name,
                        int(time.time()),
                    )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def _check_version(pool: Any, url: str) -> None:
    """A read-only session's schema must be this wirewatch's: behind, its writer migrates it
    (`run`, or any command that writes); ahead, this wirewatch is the old one."""
    with driver_errors():
        exists = await pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        current = (
            int(await pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
            if exists
            else 0
        )
    known = migrations()
    latest = known[-1][0] if known else 0
    if current > latest:
        raise StorageError(
            f"database schema version {current} is newer than this wirewatch ({latest});"
            " upgrade wirewatch"
        )
    if current < latest:
        raise SchemaBehind(
            f"{redact(url)} has schema version {current} and this wirewatch reads version"
            f" {latest}: it is brought up to date when wirewatch next runs on it with"
            " write access (`wirewatch run`, or any command that writes)",
            have=current,
            wants=latest,
        )


async def _check_server(conn: Any) -> None:
    """Search tokenises with `[[:alnum:]]`; a database whose character classes are ASCII only
    (LC_CTYPE=C) would index no Cyrillic word. Refuse it with the fix rather than search
    nothing."""
    ok = await conn.fetchval("SELECT 'ї1' ~ '^[[:alnum:]]+$'")
    if not ok:
        ctype = await conn.fetchval(
            "SELECT datctype FROM pg_database WHERE datname = current_database()"
        )
        raise StorageError(
            f"this database's LC_CTYPE ({ctype}) does not class Cyrillic letters as letters:"
            " create it with LC_CTYPE 'C.UTF-8' (or another UTF-8 locale), ENCODING 'UTF8',"
            " TEMPLATE template0"
        )
