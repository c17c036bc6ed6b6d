"""A consistent copy of the live database while the service writes (SQLite's online backup),
checked for integrity before it is put in place."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

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
    src = sqlite3.connect(source, timeout=30)
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
