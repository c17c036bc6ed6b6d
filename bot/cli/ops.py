"""`wirewatch backup PATH`: a consistent copy of the live database (SQLite's online backup)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, open_store
from bot.service.settings import Settings
from storage.db import StorageError

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


async def service_checks(out: list[dict[str, str]], settings: Settings) -> None:
    """What `wirewatch run` depends on and reports: logging, retention, health, the outbox."""
    import logging

    from bot.service.health import is_loopback

    level = logging.getLevelName(settings.log_level.upper())
    if isinstance(level, int):
        check(
            out,
            "logging",
            "ok",
            f"{settings.log_level.upper()}, {'JSON' if settings.log_json else 'text'}",
        )
    else:
        check(out, "logging", "fail", f"unknown log level {settings.log_level!r}")
    days = settings.jobs.retention_days
    check(
        out,
        "retention",
        "ok",
        f"posts older than {days} days are deleted hourly" if days else "keeps every post",
    )
    if settings.health_port == 0:
        check(out, "health endpoint", "missing", "WIREWATCH_HEALTH_PORT=0: /healthz is off")
    else:
        where = f"{settings.health_host}:{settings.health_port}"
        status, detail = await _probe_health(settings.health_host, settings.health_port)
        if not is_loopback(settings.health_host):
            status, detail = "warn", f"{where} is not localhost: firewall it. {detail}"
        check(out, "health endpoint", status, detail)
    db_path = Path(settings.db)
    if not db_path.exists():
        return
    try:
        async with open_store(settings, must_exist=True) as store:
            counts = await store.alerts.counts()
            state = await store.state.all()
    except StorageError:
        return  # the database check above already said what is wrong
    failed = counts.get("failed", 0)
    held = counts.get("held", 0)
    check(
        out,
        "outbox",
        "warn" if failed else "ok",
        f"{counts.get('pending', 0)} pending, {held} held, {failed} failed, "
        f"{counts.get('sent', 0)} sent",
    )
    if "listener.last_error" in state:
        value, at = state["listener.last_error"]
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
        check(out, "listener", "warn", f"last error at {when}: {value}")
    feeds = {k: v for k, v in state.items() if k.startswith("feed.offset:")}
    for key, (value, _) in sorted(feeds.items()):
        check(out, "feed", "ok", f"{key.split(':', 1)[1]} consumed to byte {value}")


async def _probe_health(host: str, port: int) -> tuple[str, str]:
    """Ask a running service for /healthz; a refused connection just means it is not running."""
    import aiohttp

    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/healthz"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.get(url) as resp,
        ):
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        if isinstance(exc, aiohttp.ClientConnectorError):
            return "ok", f"{host}:{port} (service not running now)"
        return "fail", f"{url}: no valid answer ({type(exc).__name__})"
    state = body.get("status", "?") if isinstance(body, dict) else "?"
    degraded = "; ".join(body.get("degraded", [])) if isinstance(body, dict) else ""
    status = "ok" if state == "ok" else ("warn" if state == "degraded" else "fail")
    return status, f"service running: {state}" + (f" ({degraded})" if degraded else "")


def check(results: list[dict[str, str]], name: str, status: str, detail: str) -> None:
    results.append({"check": name, "status": status, "detail": detail})
