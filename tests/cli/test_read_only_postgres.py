"""On PostgreSQL a command that only reads opens its sessions read-only: whatever the server's
roles allow the account, such a command can never write, nor migrate the schema underneath a
running service. Against the real test server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from bot.cli.main import main
from storage.db import StorageError
from storage.postgres.db import migrations
from storage.store import Store
from tests.cli.test_read_only import CHANNEL, DATA, LINK, READERS


def _schema(url: str) -> str:
    return url.rsplit("search_path=", 1)[1]


async def _fingerprint(url: str) -> list[tuple[str, int]]:
    """Every table of the test's schema with its row count: what a write would change."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
            " ORDER BY table_name",
            _schema(url),
        )
        return [(t[0], int(await conn.fetchval(f'SELECT count(*) FROM "{t[0]}"'))) for t in tables]
    finally:
        await conn.close()


@pytest.fixture
def archive(pg_url: str) -> str:
    for argv in (
        ["import", str(DATA / "export_channel"), "--source", f"@{CHANNEL}"],
        ["rules", "add", "енергетика"],
        ["people", "add", "5001", "journalist"],
    ):
        assert main(["--db", pg_url, *argv]) == 0
    return pg_url


async def test_a_read_only_store_on_postgresql_cannot_write(archive: str) -> None:
    store = await Store.open(archive, read_only=True)
    try:
        assert [r.username for r in await store.sources.list()] == [CHANNEL]
        with pytest.raises(StorageError, match="read-only transaction"):
            await store.people.add(role="journalist", user_id=5002)
        with pytest.raises(StorageError, match="read-only transaction"):
            async with store.transaction():
                await store.sources.ensure("another_channel")
    finally:
        await store.close()
    counts = dict(await _fingerprint(archive))
    assert (counts["people"], counts["sources"]) == (1, 1)


@pytest.mark.parametrize("argv", READERS, ids=" ".join)
def test_a_command_that_only_reads_works_on_a_read_only_session(
    archive: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = asyncio.run(_fingerprint(archive))
    assert main(["--db", archive, *argv]) == 0
    out = capsys.readouterr().out
    if argv[0] in ("search", "sources", "draft", "evidence"):
        assert CHANNEL in out or LINK in out, out
    assert asyncio.run(_fingerprint(archive)) == before


def test_a_read_only_command_does_not_migrate_the_schema_of_another_version(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schema one migration behind (a running older service's): the read-only session is
    told so instead of migrating it; the owner's writing command or `run` brings it up."""
    known = migrations()

    async def one_behind() -> None:
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            for number, name, sql in known[:-1]:
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, 0)", number, name
                )
        finally:
            await conn.close()

    asyncio.run(one_behind())
    before = asyncio.run(_fingerprint(pg_url))
    with pytest.raises(StorageError, match="has schema version"):
        asyncio.run(Store.open(pg_url, read_only=True))
    assert asyncio.run(_fingerprint(pg_url)) == before
