"""The SQLite connection: pragmas, migrations by `PRAGMA user_version`, transactions.

One aiosqlite connection per process. Writes run inside `transaction()`, which serialises them
with a lock and `BEGIN IMMEDIATE`, so a post, its versions, its FTS row and its alerts commit
together or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from storage.access import has_log, not_writer, read_only_failure, read_only_uri, unreachable
from storage.checkpoint import BACKSTOP_FRAMES, WAL_SIZE_LIMIT, Checkpointer

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StorageError(RuntimeError):
    """The database cannot be used (wrong file, newer schema, ...); the message is for a person."""


class SchemaBehind(StorageError):
    """A command that only reads met a database its next writer will migrate: at schema
    version `have`, where this wirewatch reads `wants`."""

    def __init__(self, message: str, *, have: int, wants: int) -> None:
        super().__init__(message)
        self.have = have
        self.wants = wants


class DatabaseDown(StorageError):
    """The database server cannot be reached or went away (PostgreSQL): try again later."""


def now() -> int:
    return int(time.time())


PRIVATE_MODE = 0o600
# SQLite creates these next to the database with the database's own permissions.
_COMPANIONS = ("-wal", "-shm", "-journal")


_SQLITE_HEADER = b"SQLite format 3\x00"


def private_file(path: Path) -> None:
    """Create `path` if missing, readable and writable by its owner only, and take group and
    other access away from an existing one. The database holds people's Telegram ids and the
    audit log; a umask of 022 would leave it (and its WAL) world-readable."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def _is_sqlite_or_empty(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError:
        return False
    return head in (b"", _SQLITE_HEADER)


def private_database(path: Path) -> None:
    """The database file and whatever WAL, shared-memory or journal file it already has. A file
    that is not an SQLite database is left exactly as it is: opening it fails next, and a
    mistyped --db must never change a stranger file's permissions."""
    if path.exists() and not (path.is_file() and _is_sqlite_or_empty(path)):
        return
    private_file(path)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists() and companion.stat().st_mode & 0o077:
            companion.chmod(PRIVATE_MODE)


@cache
def migrations() -> tuple[tuple[int, str, str], ...]:
    """(number, file name, SQL) for every bundled migration, in order. Read once a process: the
    bundled files are the code's own, and a process that dropped its privileges (or whose
    package folder an upgrade replaced) must still see the migrations its code was loaded with."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("storage.migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found))


def _fetchone(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Any:
    return conn.execute(sql, params).fetchone()


def _fetchall(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    return conn.execute(sql, params).fetchall()


BUSY_TIMEOUT_MS = 5000
# A live post's plan on the event loop's thread (`Database.run(inline=True)`) takes 0.3-1 ms;
# one that took this long stalled the loop (a commit waiting on the disk), and the plans of
# the next INLINE_PAUSE_S go to the database thread instead.
INLINE_STALL_S = 0.02
INLINE_PAUSE_S = 60.0


class _Connection(aiosqlite.Connection):
    """aiosqlite's connection, counting the calls its thread has not finished yet, so that
    `Database.run(inline=True)` knows when the sqlite3 connection is free to be used from the
    event loop's thread instead (each hop to that thread and back costs 50-100 µs, a third of
    a live post's storing). Each counter has one writer: `queued` the event loop's thread,
    `finished` the connection's; a call the caller stopped awaiting (cancelled) still counts
    as busy until the thread is done with it."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.queued = 0
        self.finished = 0

    @property
    def idle(self) -> bool:
        return self.queued == self.finished

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        work = partial(fn, *args, **kwargs)

        def counted() -> T:
            try:
                return work()
            finally:
                self.finished += 1

        self.queued += 1
        return cast(T, await super()._execute(counted))  # type: ignore[no-untyped-call]


def _connect(path: str, *, uri: bool = False) -> _Connection:
    # The connection is opened in aiosqlite's thread and also used from the event loop's
    # thread, never both at once (`_Connection.idle`): SQLite itself is built thread-safe.
    return _Connection(
        partial(sqlite3.connect, path, isolation_level=None, check_same_thread=False, uri=uri)
    )


def _begin(raw: sqlite3.Connection, *, wait: bool) -> bool:
    """BEGIN IMMEDIATE; without `wait`, False instead of SQLite's busy wait when another
    writer holds the lock."""
    if wait:
        raw.execute("BEGIN IMMEDIATE")
        return True
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return True


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._lazy = False  # the owner's transaction began lazily (see transaction())
        self._open = False  # BEGIN was sent and no COMMIT/ROLLBACK yet
        self._inline_off_until = 0.0  # monotonic time until which run(inline=True) hops anyway
        # Copies the write-ahead log back into the file off the commit path (file databases
        # in WAL mode; storage/checkpoint.py).
        self.checkpointer: Checkpointer | None = None

    @classmethod
    async def open(
        cls, path: str | Path, *, migrate: bool = True, read_only: bool = False
    ) -> Database:
        """`read_only`: for commands that only read (storage/access.py): the file is opened
        as it is, never created, chmodded, migrated or written."""
        path = str(path)
        if read_only and path != ":memory:":
            return await cls._open_read_only(Path(path))
        if path != ":memory:":
            refused = not_writer(Path(path)) or (
                unreachable(Path(path)) if Path(path).exists() else None
            )
            if refused is not None:
                raise StorageError(refused)
            folder = Path(path).parent
            if not folder.parent.is_dir():
                # Only the last level is ours to create (var/ on a fresh clone); a deeper
                # missing tree is a mistyped --db, and an empty archive there would hide it.
                raise StorageError(
                    f"cannot open database {path}: the folder {folder.parent} does not exist"
                )
            try:
                folder.mkdir(exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot open database {path}: {exc}") from exc
            if Path(path).exists() and not (
                Path(path).is_file() and _is_sqlite_or_empty(Path(path))
            ):
                # Refused before SQLite touches it (or its -wal): a mistyped --db is not ours.
                raise StorageError(
                    f"{path} is not a usable wirewatch database: not an SQLite database file"
                )
            try:
                private_database(Path(path))
            except OSError as exc:
                raise StorageError(f"cannot open database {path}: {exc}") from exc
        try:
            conn = await _connect(path)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            row = await db.fetchone("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if row is not None and str(row[0]).lower() == "wal" and path != ":memory:":
                await db.fetchone(f"PRAGMA wal_autocheckpoint={BACKSTOP_FRAMES}")
                await db.fetchone(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
                db.checkpointer = Checkpointer(path, backstop=BACKSTOP_FRAMES)
                db.checkpointer.start()
            if migrate:
                await db.migrate()
        except sqlite3.DatabaseError as exc:
            await db._close()
            raise StorageError(f"{path} is not a usable wirewatch database: {exc}") from exc
        except BaseException:
            await db._close()
            raise
        return db

    @classmethod
    async def _open_read_only(cls, path: Path) -> Database:
        why = unreachable(path)
        if why is not None:
            raise StorageError(why)
        if not path.is_file():
            raise StorageError(f"no database at {path}")
        if not _is_sqlite_or_empty(path):
            raise StorageError(
                f"{path} is not a usable wirewatch database: not an SQLite database file"
            )
        # Without a write-ahead log beside it the file alone is the database: SQLite reads it
        # as immutable and creates no -wal nor -shm, which would be this reader's files (and
        # left behind: a read-only connection cannot remove them).
        immutable = not has_log(path)
        while True:
            conn = await _connect(read_only_uri(path, immutable=immutable), uri=True)
            conn.row_factory = aiosqlite.Row
            db = cls(conn, str(path))
            try:
                await conn.execute("PRAGMA query_only=ON")  # belt and braces: mode=ro
                await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                current = await db.user_version()  # the first read opens the WAL index
            except sqlite3.OperationalError as exc:
                await db._close()
                retry, reason = read_only_failure(path, exc)
                if retry and not immutable:
                    immutable = True
                    continue
                raise StorageError(reason or f"cannot read {path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                await db._close()
                raise StorageError(f"{path} is not a usable wirewatch database: {exc}") from exc
            break
        known = migrations()
        latest = known[-1][0] if known else 0
        if current != latest:
            await db._close()
            if current > latest:
                raise StorageError(
                    f"database schema version {current} is newer than this wirewatch "
                    f"({latest}); upgrade wirewatch"
                )
            raise SchemaBehind(
                f"{path} has schema version {current} and this wirewatch reads version "
                f"{latest}: it is brought up to date when its owner next runs wirewatch on it "
                "(`wirewatch run`, or any command)",
                have=current,
                wants=latest,
            )
        return db

    async def close(self) -> None:
        # No PRAGMA optimize here: closing must never write, so a failed import leaves the file
        # byte-for-byte as it was. The checkpointer's last TRUNCATE copies committed pages
        # only, as SQLite's own checkpoint on closing would.
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        try:
            await self.conn.close()
        finally:
            if self.checkpointer is not None:
                # Last: its connection then closes the file, and SQLite removes the log.
                await asyncio.to_thread(self.checkpointer.close)

    def _committed(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.committed()

    async def user_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        current = await self.user_version()
        known = migrations()
        latest = known[-1][0] if known else 0
        if current > latest:
            raise StorageError(
                f"database schema version {current} is newer than this wirewatch ({latest}); "
                "upgrade wirewatch"
            )
        for number, name, sql in known:
            if number <= current:
                continue
            log.info("applying migration %s", name)
            async with self._lock:
                # executescript commits implicitly, so the version bump rides in the same script.
                await self.conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
                self._committed()

    @asynccontextmanager
    async def transaction(self, *, lazy: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """All writes go through here. Re-entrant within one task, so a repository method that
        writes joins the caller's transaction instead of committing half of it.

        `lazy`: BEGIN rides on the first `run()` (or on the first write of a repository method)
        instead of a round trip of its own, and a `run()` whose work commits the transaction
        itself (say, a post that needs nothing more) saves the COMMIT trip too; whatever runs
        after that in the block gets a transaction of its own, committed at the end.
        """
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            if self._lazy and not self._open:
                await self.conn.execute("BEGIN IMMEDIATE")
                self._open = True
            yield self.conn
            return
        async with self._lock:
            self._owner = task
            self._lazy = lazy
            self._open = False
            try:
                if not lazy:
                    await self.conn.execute("BEGIN IMMEDIATE")
                    self._open = True
                try:
                    yield self.conn
                except BaseException:
                    if self._open and self.conn.in_transaction:
                        # SQLite has rolled back by itself after some errors (a disk I/O
                        # error, a full disk): a second ROLLBACK would fail and hide them.
                        await self.conn.execute("ROLLBACK")
                    raise
                else:
                    if self._open:
                        await self.conn.execute("COMMIT")
                        self._committed()
            finally:
                self._owner = None
                self._lazy = False
                self._open = False

    def may_end(self) -> bool:
        """Whether a `run()` now may end the transaction (COMMIT): it is this task's lazy
        `transaction()`, not a caller's transaction that one joined."""
        task = asyncio.current_task()
        return self._lazy and task is not None and self._owner is task

    async def run(self, work: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        """`work(connection)` in the database thread, as one round trip.

        Every `await` on aiosqlite is a hop to its thread and back (0.1-0.2 ms on a loaded
        machine), so a query plan of several dependent statements costs more in hops than in
        SQLite. aiosqlite has no public call for this; `_execute` is how its own methods queue
        work, and the version is pinned in pyproject.toml. Rows come back as sqlite3.Row.

        Inside a lazy `transaction()` of this task, the transaction begins in the same trip,
        and `work` may end it with COMMIT.

        `inline`: `work` is small (a live post's plan, well under a millisecond of SQLite), so
        when the database thread has nothing to do it runs right here on the event loop's
        thread instead, without the two hops. Never where SQLite would wait: a BEGIN that
        would wait for another writer's lock (another process, a checkpoint) goes to the
        thread as before.
        """
        conn = self.conn
        lazy = self.may_end()
        if (
            inline
            and isinstance(conn, _Connection)
            and conn.idle
            and time.monotonic() >= self._inline_off_until
        ):
            began = time.perf_counter()
            try:
                done, result = self._inline(conn._conn, work, lazy=lazy)
            finally:
                # A plan that failed after a stall (the slow disk then refused the write) held
                # the loop up all the same.
                self._stalled(time.perf_counter() - began)
            if done:
                self._ended(lazy)
                # Still a suspension point, as the hop was: a caller that stores post after
                # post in a loop must not starve the other tasks (the bot, the notifier).
                await asyncio.sleep(0)
                return result
        if not lazy:
            return cast(T, await conn._execute(work, conn._conn))  # type: ignore[no-untyped-call]
        step = partial(self._step, work=work, lazy=True, wait=True)
        _, result = await conn._execute(step, conn._conn)  # type: ignore[no-untyped-call]
        self._ended(lazy)
        return cast(T, result)

    def _stalled(self, spent: float) -> None:
        """An inline plan normally takes well under a millisecond; one that took INLINE_STALL_S
        (a commit stuck on a loaded disk) held up every task of the loop (the bot, the
        listener) meanwhile. The next INLINE_PAUSE_S of plans then take the thread, where a
        stall holds up only the database."""
        if spent < INLINE_STALL_S:
            return
        self._inline_off_until = time.monotonic() + INLINE_PAUSE_S
        log.warning(
            "a write on the event loop's thread took %.0f ms (a slow disk?): writes go through"
            " the database thread for the next %.0f s",
            spent * 1000,
            INLINE_PAUSE_S,
        )

    def _step(
        self,
        raw: sqlite3.Connection,
        work: Callable[[sqlite3.Connection], T],
        *,
        lazy: bool,
        wait: bool,
    ) -> tuple[bool, T]:
        """`work(raw)`, in this task's lazy transaction if `lazy` (begun here when none is
        open), wherever `run` runs it; `_open` follows the connection, errors included.
        (False, _) without running it when `wait` is off and BEGIN would have to wait for
        another writer's lock."""
        if lazy and not raw.in_transaction and not _begin(raw, wait=wait):
            return False, cast(T, None)
        try:
            return True, work(raw)
        finally:
            if lazy:
                # On an error the block's exit rolls back: the flag must say there is
                # something to undo.
                self._open = raw.in_transaction

    def _inline(
        self, raw: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], *, lazy: bool
    ) -> tuple[bool, T]:
        """`run(inline=True)` on this thread: (False, _) when the transaction's BEGIN would
        have to wait for the write lock, and the caller takes the thread instead."""
        return self._step(raw, work, lazy=lazy, wait=False)

    def _ended(self, lazy: bool) -> None:
        if lazy and not self._open:
            self._committed()  # `work` ended the transaction with COMMIT

    # One trip each: aiosqlite's cursor takes three (execute, fetch, close).
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        return await self.run(partial(_fetchone, sql=sql, params=params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return await self.run(partial(_fetchall, sql=sql, params=params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write in its own transaction; returns lastrowid."""
        async with self.transaction() as conn, conn.execute(sql, params) as cur:
            return cur.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def integrity_check(self) -> str:
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    async def size_bytes(self) -> int:
        row = await self.fetchone(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        )
        return int(row[0]) if row else 0
