"""The database, its WAL and shared-memory files and backups hold people's Telegram ids and the
audit log: only their owner may read them, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.backup import backup_database
from storage.db import StorageError
from storage.store import Store


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask of 022 (the usual one outside systemd), whatever the test runner had."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_wal_shm_and_backup_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "wirewatch.db"
    store = await Store.open(db)
    try:
        await store.people.add(role="journalist", user_id=4242)
        await store.state.audit(1, "people add", "4242 journalist")
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        backup = tmp_path / "backup.db"
        backup_database(db, backup)
        assert mode(backup) == 0o600
    finally:
        await store.close()


async def test_an_existing_world_readable_database_is_tightened(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "old.db"
    store = await Store.open(db)
    await store.close()
    db.chmod(0o644)
    store = await Store.open(db)
    try:
        assert mode(db) == 0o600
    finally:
        await store.close()


async def test_a_file_that_is_not_a_database_is_refused_untouched(
    tmp_path: Path, open_umask: None
) -> None:
    # `--db /etc/passwd` by mistake: refused as not a database, and its mode left alone (it
    # used to be narrowed to 0600 first, which locks every user out of a system file).
    other = tmp_path / "passwd"
    other.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    other.chmod(0o644)
    wal = tmp_path / "passwd-wal"
    wal.write_text("not ours", encoding="utf-8")
    wal.chmod(0o644)
    with pytest.raises(StorageError, match="not a usable wirewatch database"):
        await Store.open(other)
    assert mode(other) == 0o644
    assert mode(wal) == 0o644
    assert other.read_text(encoding="utf-8").startswith("root:x:0:0")
