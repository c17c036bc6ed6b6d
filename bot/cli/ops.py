"""`wirewatch backup PATH`: a consistent copy of the live database (SQLite's online backup);
`wirewatch restore BACKUP`: one put back in its place."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError
from bot.settings import Settings
from storage.backup import backup_database, restore_database
from storage.db import migrations
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

    r = sub.add_parser(
        "restore",
        parents=[parent],
        help="put a backup in the database's place (the service stopped)",
        description=(
            "Check BACKUP (integrity, a schema this wirewatch knows), move the database it "
            "replaces aside with its -wal and -shm files (<name>.replaced-<time>: nothing is "
            "lost), and copy the backup into place. Refused while any process has the database "
            "open: stop the service first."
        ),
    )
    r.add_argument("backup", help="a file written by `wirewatch backup`")
    r.set_defaults(func=cmd_restore)


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


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    if is_postgres_url(settings.db):
        raise UsageError("the database is PostgreSQL: restore it with pg_restore or psql")
    target = Path(settings.db)
    if str(target) == ":memory:":
        raise UsageError("no database file to restore into")
    backup = Path(args.backup).expanduser()
    if target.exists() and backup.resolve() == target.resolve():
        raise UsageError("the backup is the database itself")
    known = migrations()
    latest = known[-1][0] if known else 0
    target.parent.mkdir(parents=True, exist_ok=True)
    done = await asyncio.to_thread(restore_database, backup, target, latest=latest)
    print(
        f"restored {backup} to {target} ({done.posts} posts, schema v{done.version}, "
        f"{done.size // 1024} KiB)"
    )
    if done.replaced is not None:
        print(f"the database it replaced is kept as {done.replaced}")
    return 0
