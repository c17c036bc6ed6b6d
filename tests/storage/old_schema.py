"""Databases as an older wirewatch left them, for the migration tests: the migrations up to
`before` applied as each version applied them, then the test's own rows written by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import asyncpg

from storage.db import migrations
from storage.postgres.db import migrations as pg_migrations


def old_sqlite(path: str, before: int, rows: Sequence[str]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    for number, _, sql in migrations():
        if number <= before:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
    for row in rows:
        conn.execute(row)
    conn.close()


async def old_postgres(url: str, before: int, rows: Sequence[str]) -> asyncpg.Connection:
    """The connection stays open for the caller's own touches; the caller closes it."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        )
        for number, name, sql in pg_migrations():
            if number <= before:
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, 0)", number, name
                )
        for row in rows:
            await conn.execute(row)
    except BaseException:
        await conn.close()
        raise
    return conn
