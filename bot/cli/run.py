"""`wirewatch run`: the service (listener, feeds, bot, notifier, scheduler, health)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError
from bot.service.accounts import AccountInUseError
from bot.service.app import App
from bot.service.log import setup_logging
from bot.service.roles import ROLES
from bot.settings import Settings
from storage.access import ServedElsewhere, service_lock
from storage.db import DatabaseDown
from storage.postgres import is_postgres_url


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[parent],
        help="run the service until SIGTERM/SIGINT",
        description=(
            "Listen to channels (with Telegram API credentials), follow JSONL feeds, answer bot "
            "commands and deliver alerts (with a bot token), run scheduled jobs and serve "
            "/healthz and /metrics. Missing credentials disable their part, not the service."
        ),
    )
    p.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="FILE",
        help="follow a growing JSONL feed (repeatable); resumes where it stopped",
    )
    p.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="override WIREWATCH_HEALTH_PORT (0 turns the endpoint off)",
    )
    p.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="all (default): everything in this process. With a postgresql:// WIREWATCH_DB the "
        "service can be split: listener (channels and feeds), notifier (delivers the outbox; "
        "run as many as you like), bot (commands and digests; run one)",
    )
    p.add_argument(
        "--account",
        metavar="NAME",
        help="the listener account this process runs (WIREWATCH_ACCOUNTS__NAME__*, or "
        "'default' for WIREWATCH_TELEGRAM__*); one process per account, with --role listener",
    )
    p.set_defaults(func=cmd_run)


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if args.health_port is not None:
        if not 0 <= args.health_port <= 65535:
            raise UsageError("--health-port must be between 0 and 65535")
        settings = settings.model_copy(update={"health_port": args.health_port})
    role = getattr(args, "role", "all")
    if role != "all" and not is_postgres_url(settings.db):
        raise UsageError(
            f"--role {role} splits the service across processes, which share a PostgreSQL "
            "database: set WIREWATCH_DB=postgresql://... (one SQLite file serves one process)"
        )
    if args.feed and role not in ("all", "listener"):
        raise UsageError(f"--feed is read by the listener role, not by --role {role}")
    for feed in args.feed:
        # A feed that does not exist yet is waited for; a folder never becomes one.
        if Path(feed).is_dir():
            raise UsageError(f"--feed {feed} is a folder: give the JSONL file to follow")
    account = getattr(args, "account", None)
    if account is not None:
        if role not in ("all", "listener"):
            raise UsageError(f"--account is run by the listener role, not by --role {role}")
        if account not in settings.account_names():
            raise UsageError(
                f"no account {account!r}: configured are {', '.join(settings.account_names())} "
                "(WIREWATCH_ACCOUNTS__NAME__API_ID, ...)"
            )
    elif settings.pooled and role == "listener":
        raise UsageError(
            "several accounts are configured: name the one this process runs with --account "
            f"({', '.join(settings.account_names())})"
        )
    lock = None
    if not is_postgres_url(settings.db) and str(settings.db) != ":memory:":
        try:
            lock = service_lock(Path(settings.db))
        except ServedElsewhere as exc:
            raise UsageError(str(exc)) from exc
    setup_logging(settings, verbose=bool(getattr(args, "verbose", False)))
    app = App(settings, feeds=args.feed, role=role, account=account)
    try:
        return await app.run()
    except AccountInUseError as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 3
    except DatabaseDown as exc:
        raise UsageError(
            f"{exc} (is the server running, and reachable from here? nothing was stored: start "
            "wirewatch again once it is; the systemd unit in deploy/ does every 5 s)"
        ) from exc
    finally:
        if lock is not None:
            os.close(lock)  # the lock goes with it
