"""`wirewatch run`: the service (listener, feeds, bot, notifier, scheduler, health)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import UsageError
from bot.service.app import App
from bot.service.log import setup_logging
from bot.service.roles import ROLES
from bot.settings import Settings
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
    setup_logging(settings, verbose=bool(getattr(args, "verbose", False)))
    return await App(settings, feeds=args.feed, role=role).run()
