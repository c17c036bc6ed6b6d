"""`wirewatch backup`: SQLite's online backup gives a consistent, checked copy, even while the
database is being written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from storage.store import Store

START = datetime(2025, 4, 1, 6, 0, tzinfo=UTC)


def _posts(first: int, last: int) -> list[Post]:
    return [
        Post("city_council", n, START + timedelta(minutes=n), f"Рішення сесії номер {n} ухвалено.")
        for n in range(first, last + 1)
    ]


async def _fill(db: Path, first: int, last: int) -> None:
    store = await Store.open(db)
    try:
        await Pipeline(store, alert=False).handle_batch(_posts(first, last))
    finally:
        await store.close()


async def _count(db: Path) -> tuple[int, str]:
    store = await Store.open(db)
    try:
        return await store.posts.count(), await store.db.integrity_check()
    finally:
        await store.close()


async def test_backup_copies_everything_and_checks_the_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, target = tmp_path / "w.db", tmp_path / "copy.db"
    await _fill(db, 1, 200)
    code = await asyncio.to_thread(main, ["backup", "--db", str(db), str(target)])
    assert code == 0
    assert "integrity ok" in capsys.readouterr().out
    assert await _count(target) == (200, "ok")
    assert not (tmp_path / "copy.db.partial").exists()
    # The copy stands alone: no WAL needed next to it.
    assert not Path(str(target) + "-wal").exists()


async def test_backup_refuses_to_overwrite_and_names_files_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    await _fill(db, 1, 5)
    (tmp_path / "exists.db").write_bytes(b"keep me")
    code = await asyncio.to_thread(main, ["backup", "--db", str(db), str(tmp_path / "exists.db")])
    assert code == 2
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "exists.db").read_bytes() == b"keep me"
    folder = tmp_path / "backups"
    folder.mkdir()
    assert await asyncio.to_thread(main, ["backup", "--db", str(db), str(folder)]) == 0
    (made,) = folder.iterdir()
    assert made.name.startswith("w-") and made.suffix == ".db"
    assert await _count(made) == (5, "ok")


async def test_backup_while_the_database_is_written_is_consistent(tmp_path: Path) -> None:
    db, target = tmp_path / "w.db", tmp_path / "copy.db"
    await _fill(db, 1, 50)
    store = await Store.open(db)
    pipeline = Pipeline(store, alert=False)
    stop = asyncio.Event()

    async def writer() -> int:
        n = 50
        while not stop.is_set():
            n += 1
            await pipeline.handle(_posts(n, n)[0])
        return n

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.2)
        code = await asyncio.to_thread(main, ["backup", "--db", str(db), str(target)])
    finally:
        stop.set()
        written = await task
        await store.close()
    assert code == 0
    copied, integrity = await _count(target)
    assert integrity == "ok"
    assert 50 <= copied <= written
