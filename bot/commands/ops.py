"""`wirewatch backup PATH`: a consistent copy of the live database (SQLite's online backup)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

from bot.cli import UsageError
from bot.settings import Settings

PAGES_PER_STEP = 1024  # pages copied between lock releases: the running service keeps writing


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "backup",
        parents=[parent],
        help="copy the database while the service runs (SQLite online backup)",
        description=(
            "Write a consistent copy of the database to PATH (a file, or a folder for a "
            "time-stamped file), then check the copy's integrity. Safe while `run` is writing."
        ),
    )
    p.add_argument("path", help="target file or existing folder")
    p.add_argument("--force", action="store_true", help="overwrite an existing target file")
    p.set_defaults(func=cmd_backup)


def backup_database(source: Path, target: Path) -> tuple[int, str]:
    """Copy `source` to `target` page by page; returns (bytes, integrity of the copy).

    Runs in a worker thread. The copy is written next to the target and renamed into place,
    so an interrupted backup never leaves a half-written file under the target's name.
    """
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
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


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    source = Path(settings.db)
    if str(source) == ":memory:" or not source.is_file():
        raise UsageError(f"no database at {source}")
    target = Path(args.path).expanduser()
    if target.is_dir():
        from datetime import datetime

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = target / f"{source.stem}-{stamp}.db"
    if target.resolve() == source.resolve():
        raise UsageError("the backup target is the database itself")
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists (use --force to overwrite)")
    if not target.parent.is_dir():
        raise UsageError(f"no such folder: {target.parent}")
    try:
        size, integrity = await asyncio.to_thread(backup_database, source, target)
    except sqlite3.Error as exc:
        raise UsageError(f"backup failed: {exc}") from exc
    print(f"backed up {source} to {target} ({size // 1024} KiB, integrity {integrity})")
    return 0 if integrity == "ok" else 1
