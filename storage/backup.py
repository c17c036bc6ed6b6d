"""A consistent copy of the live database while the service writes (SQLite's online backup),
checked for integrity before it is put in place."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from storage.access import has_log, read_only_uri
from storage.db import StorageError, private_file

PAGES_PER_STEP = 1024  # pages copied between lock releases: the running service keeps writing


def backup_database(source: Path, target: Path) -> tuple[int, str]:
    """Copy `source` to `target` page by page; returns (bytes, integrity of the copy).

    Runs in a worker thread. The copy is written next to the target and renamed into place,
    so an interrupted backup never leaves a half-written file under the target's name.
    """
    try:
        return _backup(source, target)
    except sqlite3.Error as exc:
        raise StorageError(f"backup failed: {exc}") from exc
    except OSError as exc:
        # A folder we may not write to, a full disk: the person chose the target, so say which
        # file and why in one line rather than a traceback.
        with contextlib.suppress(OSError):
            target.with_name(target.name + ".partial").unlink(missing_ok=True)
        raise StorageError(
            f"backup failed: cannot write {exc.filename or target}: {exc.strerror or exc}"
        ) from exc


def _backup(source: Path, target: Path) -> tuple[int, str]:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    private_file(partial)  # a copy of people's ids and the audit log: the owner's only
    # Read-only, as the commands that only read open it (storage/access.py): a backup never
    # writes the database, and works for whoever can read it (root, the service's account).
    immutable = not has_log(source)
    src = sqlite3.connect(read_only_uri(source, immutable=immutable), uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=PAGES_PER_STEP)
            # The copy is a standalone file: no WAL to carry around.
            dst.execute("PRAGMA journal_mode=DELETE")
            row = dst.execute("PRAGMA integrity_check").fetchone()
            integrity = str(row[0]) if row else "no answer"
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, target)
    return target.stat().st_size, integrity


@dataclass(frozen=True, slots=True)
class Restored:
    size: int  # bytes of the restored database
    version: int  # its schema version (PRAGMA user_version)
    posts: int
    replaced: Path | None  # where the database it replaced was moved, with its -wal and -shm


def restore_database(backup: Path, target: Path, *, latest: int) -> Restored:
    """Put `backup` in the place of the database `target`, which no process may have open.

    Runs in a worker thread. The backup is checked first (an SQLite file, integrity, a schema
    this wirewatch knows: at most `latest`); the database it replaces is checkpointed and moved
    aside with its `-wal` and `-shm` (`<name>.replaced-<time>`), so nothing is lost and no log
    of the old database is replayed into the restored one; the copy is written beside the
    target, checked, and renamed into place. Raises StorageError saying what is wrong.
    """
    try:
        version = _check_backup(backup, latest)
        replaced = _move_aside(target) if target.exists() else None
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        private_file(partial)
        src = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=PAGES_PER_STEP)
                row = dst.execute("PRAGMA quick_check").fetchone()
                if not row or row[0] != "ok":
                    raise StorageError(f"the restored copy of {backup} fails its check")
                posts = int(dst.execute("SELECT count(*) FROM posts").fetchone()[0])
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
        return Restored(target.stat().st_size, version, posts, replaced)
    except sqlite3.Error as exc:
        raise StorageError(f"restore failed: {exc}") from exc
    except OSError as exc:
        raise StorageError(
            f"restore failed: cannot write {exc.filename or target}: {exc.strerror or exc}"
        ) from exc


def _check_backup(backup: Path, latest: int) -> int:
    if not backup.is_file():
        raise StorageError(f"no backup at {backup}")
    try:
        conn = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            row = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{backup} is not a wirewatch backup: {exc}") from None
    if version == 0:
        raise StorageError(f"{backup} is not a wirewatch backup: it has no wirewatch schema")
    if version > latest:
        raise StorageError(
            f"{backup} has schema version {version}, newer than this wirewatch ({latest}): "
            "restore it with the wirewatch that made it"
        )
    if not row or row[0] != "ok":
        raise StorageError(f"{backup} is damaged: {row[0] if row else 'no answer'}")
    return version


def _move_aside(target: Path) -> Path:
    """Take the database from whoever has it (nobody may: the service must be stopped), write
    its log into it, and move it and its files to `<name>.replaced-<time>`."""
    conn = sqlite3.connect(target, timeout=0)
    try:
        # In WAL mode an exclusive lock is refused while any other connection, in any process,
        # has the database open: a running service, a `wirewatch search`.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"{target} is in use ({exc}): stop the service (and any other wirewatch "
                "command) before restoring"
            ) from None
        conn.rollback()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.name}.replaced-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = target.with_name(f"{target.name}.replaced-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        extra = target.with_name(target.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(target, aside)
    return aside
