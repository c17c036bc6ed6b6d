"""Copy a SQLite archive into PostgreSQL (`wirewatch migrate-db`).

Tables go over in the order their foreign keys need, in batches that each commit on their own,
rows keeping their ids. Every insert is `ON CONFLICT DO NOTHING` and a table with an id resumes
after the highest id already copied, so an interrupted copy run again picks up where it stopped
and never doubles a row. The identity sequences are moved past the copied ids at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import Database, StorageError
from storage.postgres.db import PgDatabase, pg_arg

# Parents before children; each with the columns that order (and resume) it.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sources", ("id",)),
    ("people", ("id",)),
    ("rules", ("id",)),
    ("posts", ("id",)),
    ("post_versions", ("post_id", "version")),
    ("media_files", ("sha256",)),
    ("post_media", ("post_id", "message_id", "sha256")),
    ("evidence", ("id",)),
    ("album_items", ("source_id", "message_id")),
    ("album_deleted", ("source_id", "message_id")),
    ("mutes", ("person_id", "source_id")),
    ("source_peers", ("source_id", "account_id")),
    ("source_accounts", ("source_id",)),
    ("alerts", ("id",)),
    ("translations", ("post_id", "version", "target", "source_hash")),
    ("audit_log", ("id",)),
    ("state", ("key",)),
    ("search_sessions", ("token",)),
)
BATCH = 2000

Progress = Callable[[str, int, int], None]  # table, rows done now, rows in the table


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    sqlite: int
    postgres: int

    @property
    def ok(self) -> bool:
        return self.postgres >= self.sqlite


async def copy_archive(
    sqlite_path: str | Path, pg_url: str, *, progress: Progress | None = None, batch: int = BATCH
) -> list[TableCount]:
    """Copy every table; returns the row counts on both sides, table by table."""
    if not Path(sqlite_path).is_file():
        raise StorageError(f"no SQLite database at {sqlite_path}")
    src = await Database.open(sqlite_path)
    try:
        dst = await PgDatabase.open(pg_url)
        try:
            for table, key in TABLES:
                await _copy_table(src, dst, table, key, progress, batch)
            await _move_sequences(dst)
            return [await _count(src, dst, table) for table, _ in TABLES]
        finally:
            await dst.close()
    finally:
        await src.close()


async def verify(sqlite_path: str | Path, pg_url: str) -> list[TableCount]:
    src = await Database.open(sqlite_path)
    try:
        dst = await PgDatabase.open(pg_url)
        try:
            return [await _count(src, dst, table) for table, _ in TABLES]
        finally:
            await dst.close()
    finally:
        await src.close()


async def _count(src: Database, dst: PgDatabase, table: str) -> TableCount:
    a = await src.fetchone(f"SELECT COUNT(*) FROM {table}")
    b = await dst.pool.fetchval(f"SELECT COUNT(*) FROM {table}")
    return TableCount(table, int(a[0]) if a else 0, int(b or 0))


async def _columns(src: Database, dst: PgDatabase, table: str) -> list[str]:
    rows = await src.fetchall(f"PRAGMA table_info({table})")
    theirs = {
        str(r[0])
        for r in await dst.pool.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
            " AND table_schema = current_schema() AND is_generated = 'NEVER'",
            table,
        )
    }
    cols = [str(r["name"]) for r in rows]
    missing = [c for c in cols if c not in theirs]
    if missing:
        raise StorageError(
            f"PostgreSQL's {table} lacks {', '.join(missing)}: is this wirewatch older than the"
            " one that wrote the SQLite file?"
        )
    return cols


async def _copy_table(
    src: Database,
    dst: PgDatabase,
    table: str,
    key: tuple[str, ...],
    progress: Progress | None,
    batch: int,
) -> None:
    cols = await _columns(src, dst, table)
    total_row = await src.fetchone(f"SELECT COUNT(*) FROM {table}")
    total = int(total_row[0]) if total_row else 0
    order = ", ".join(key)
    col_list = ", ".join(cols)
    marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    insert = f"INSERT INTO {table} ({col_list}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    after: tuple[Any, ...] | None = None
    done = 0
    if key == ("id",):
        # Batches commit in id order, so everything up to the highest id there is copied.
        high = await dst.pool.fetchval(f"SELECT MAX(id) FROM {table}")
        if high is not None:
            after = (int(high),)
            row = await src.fetchone(f"SELECT COUNT(*) FROM {table} WHERE id <= ?", after)
            done = int(row[0]) if row else 0
    if progress:
        progress(table, done, total)
    while True:
        if after is None:
            where, params = "", []
        else:
            # Row-value comparison: the keyset for a key of one or more columns.
            where = f" WHERE ({order}) > ({', '.join('?' for _ in key)})"
            params = list(after)
        rows = await src.fetchall(
            f"SELECT {col_list} FROM {table}{where} ORDER BY {order} LIMIT ?", [*params, batch]
        )
        if not rows:
            break
        # As every write here: a NUL an older SQLite archive kept is dropped (`db.pg_arg`).
        values = [tuple(pg_arg(r[c]) for c in cols) for r in rows]
        async with dst.pool.acquire() as conn, conn.transaction():
            await conn.executemany(insert, values)
        after = tuple(rows[-1][k] for k in key)
        done += len(rows)
        if progress:
            progress(table, done, total)


async def _move_sequences(dst: PgDatabase) -> None:
    for table, key in TABLES:
        if key == ("id",):
            await dst.pool.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )
