"""`wirewatch backup PATH`: a consistent copy of the live database (SQLite's online backup)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError
from bot.settings import Settings
from storage.backup import backup_database
from storage.postgres import is_postgres_url


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


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    if is_postgres_url(settings.db):
        raise UsageError("the database is PostgreSQL: back it up with pg_dump")
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
    size, integrity = await asyncio.to_thread(backup_database, source, target)
    print(f"backed up {source} to {target} ({size // 1024} KiB, integrity {integrity})")
    return 0 if integrity == "ok" else 1
