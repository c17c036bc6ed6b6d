"""`wirewatch migrate-db SQLITE_PATH POSTGRES_URL`: copy a SQLite archive into PostgreSQL."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from bot.cli.common import UsageError, print_json
from bot.settings import Settings
from storage.postgres import is_postgres_url, redact


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "migrate-db",
        help="copy a SQLite archive into PostgreSQL (resumable)",
        description=(
            "Copy posts, versions, albums, sources, people, rules, mutes, the outbox, the audit "
            "log and state from a SQLite file into a PostgreSQL database (migrated first), "
            "with the ids they had. Interrupted, run it again: it resumes and copies no row "
            "twice. Prints each table's row count on both sides; exit 1 if any falls short. "
            "Stop `wirewatch run` first so the file does not change under the copy."
        ),
    )
    p.add_argument("sqlite_path", metavar="SQLITE_PATH")
    p.add_argument("postgres_url", metavar="POSTGRES_URL", help="postgresql://user@host/db")
    p.add_argument("--json", action="store_true", help="machine-readable counts")
    p.set_defaults(func=cmd_migrate_db)


async def cmd_migrate_db(args: argparse.Namespace, settings: Settings) -> int:
    if not is_postgres_url(args.postgres_url):
        raise UsageError(f"{args.postgres_url!r} is not a postgresql:// URL")
    # Here, not at the top: every `wirewatch` command imports this module, and the copy
    # brings the PostgreSQL driver with it.
    from storage.postgres.copy import copy_archive

    bars: dict[str, tqdm] = {}

    def progress(table: str, done: int, total: int) -> None:
        bar = bars.get(table)
        if bar is None:
            bar = bars[table] = tqdm(
                total=total, desc=f"{table:<14}", unit="row", file=sys.stderr, leave=True
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    try:
        counts = await copy_archive(args.sqlite_path, args.postgres_url, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    ok = all(c.ok for c in counts)
    if args.json:
        print_json(
            {
                "target": redact(args.postgres_url),
                "ok": ok,
                "tables": [
                    {"table": c.table, "sqlite": c.sqlite, "postgres": c.postgres, "ok": c.ok}
                    for c in counts
                ],
            }
        )
    else:
        print(f"{'table':<14} {'sqlite':>10} {'postgres':>10}")
        for c in counts:
            mark = "" if c.ok else "  MISSING ROWS"
            print(f"{c.table:<14} {c.sqlite:>10} {c.postgres:>10}{mark}")
        print(f"copied to {redact(args.postgres_url)}" if ok else "some rows were not copied")
    return 0 if ok else 1
