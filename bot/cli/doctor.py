"""`wirewatch doctor`: what is there, what is missing and what is wrong, before and while the
service runs."""

from __future__ import annotations

import argparse
import logging
import os
import stat
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.cli.common import counted, open_store, print_json, sources_file_note, terminal_text
from bot.ingest.ocr import OcrEngine
from bot.service.health import is_loopback
from bot.service.roles import session_lease
from bot.settings import Settings
from sources.telegram.session import session_has_key, session_path
from storage.access import me, unreachable, user_name
from storage.db import SchemaBehind, StorageError
from storage.models import AccountLease, Assignment, Source
from storage.postgres import is_postgres_url, redact
from storage.records import SourceError, note_text
from storage.store import Store


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    d = sub.add_parser("doctor", parents=[parent], help="check settings, database and files")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_doctor)


def check(results: list[dict[str, str]], name: str, status: str, detail: str) -> None:
    results.append({"check": name, "status": status, "detail": detail})


def sources_check(
    out: list[dict[str, str]], sources: list[Source], *, from_file: str | None = None
) -> None:
    """The followed channels, and each one the listener could not follow or read: the same
    errors /healthz lists per source. `from_file`: what the sources file adds at the next
    start (`common.sources_file_note`), which is no channel missing."""
    active = [s for s in sources if s.active]
    if not sources:
        if from_file is not None:
            check(out, "sources", "ok", f"none yet: {from_file}")
        else:
            check(out, "sources", "missing", "none: add with `sources add`")
        return
    failing = [s for s in active if s.error]
    detail = f"{counted(len(active), 'channel')} followed"
    if len(active) != len(sources):
        detail += f", {len(sources) - len(active)} unfollowed"
    if not failing:
        check(out, "sources", "ok", detail)
        return
    shown = "; ".join(note_text(s.error) for s in failing[:5])
    more = f"; and {len(failing) - 5} more (`sources list`)" if len(failing) > 5 else ""
    check(out, "sources", "fail", f"{detail}, {len(failing)} with errors: {shown}{more}")


@dataclass
class PoolFacts:
    leases: dict[str, AccountLease]
    holders: dict[str, int | None]  # account -> server pid of the connection holding its lock
    assignments: list[Assignment]


async def pool_facts(store: Store, settings: Settings) -> PoolFacts:
    from bot.service.accounts import account_lease_name

    names = settings.account_names()
    return PoolFacts(
        leases={lease.account: lease for lease in await store.accounts.leases()},
        holders={n: await store.lease_holder(account_lease_name(n)) for n in names},
        assignments=await store.accounts.assignments(),
    )


def account_checks(out: list[dict[str, str]], settings: Settings, pool: PoolFacts) -> None:
    """Every account: credentials, session file, its lease (held, by whom, expired) and its
    share of the channels; then the channels no account has room for."""
    from bot.desk.assignment import health

    stamp = datetime.now(UTC)
    grace = timedelta(seconds=settings.telegram.lease_ttl)
    load = Counter(a.account for a in pool.assignments)
    for name in settings.account_names():
        tg = settings.account(name)
        label = f"account {name}"
        if not tg.configured:
            check(out, label, "missing", "no API id / hash: set WIREWATCH_ACCOUNTS__NAME__API_ID")
            continue
        session = session_path(tg)
        lease = pool.leases.get(name)
        state = health(lease, stamp, grace)
        share = f"{load.get(name, 0)}/{tg.max_channels} channels"
        holder = pool.holders.get(name)
        if lease is None or lease.expires_at is None:
            status, detail = "missing", "never run: start `wirewatch run --role listener "
            detail += f"--account {name}`"
        elif lease.failed:
            status, detail = "fail", f"marked failed ({lease.failed}); its channels moved"
        elif state == "live":
            status = "ok"
            detail = f"lease held by {lease.holder}" + (
                f" (server pid {holder})" if holder is not None else ""
            )
            if lease.renewed_at is not None:
                detail += f", renewed {int((stamp - lease.renewed_at).total_seconds())}s ago"
        else:
            ago = int((stamp - lease.expires_at).total_seconds())
            status = "fail"
            detail = f"lease expired {ago}s ago (last held by {lease.holder}); its channels move"
        if not session.exists():
            status, detail = "missing", f"{session}: run `wirewatch login --account {name}`"
        else:
            try:
                if not session_has_key(session):
                    status = "missing"
                    detail = f"{session} holds no sign-in: run `wirewatch login --account {name}`"
            except SourceError as exc:
                status, detail = "fail", str(exc)
        check(out, label, status, f"{detail}; {share}")
    unassigned = [a.username for a in pool.assignments if a.account is None]
    if unassigned:
        check(
            out,
            "assignment",
            "fail",
            f"{len(unassigned)} channels have no account with room (e.g. @{unassigned[0]}): "
            "add an account or raise max_channels",
        )
    else:
        check(out, "assignment", "ok", f"{len(pool.assignments)} channels, each with an account")


def session_key_check(out: list[dict[str, str]], session: Path) -> None:
    """A login that never reached Telegram leaves its session file behind, without a key."""
    try:
        signed = session_has_key(session)
    except SourceError as exc:
        check(out, "session file", "fail", str(exc))
        return
    if signed:
        check(out, "session file", "ok", str(session))
    else:
        check(out, "session file", "missing", f"{session} holds no sign-in: run `wirewatch login`")


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    """Says what is there, what is missing and what is wrong; exit 1 if anything is wrong."""
    out: list[dict[str, str]] = []
    db_path = Path(settings.db)
    server = is_postgres_url(settings.db)
    where = redact(str(settings.db)) if server else str(db_path)
    check(out, "time zone", "ok", settings.tz)
    tg = settings.telegram
    if tg.configured:
        check(out, "telegram api", "ok", f"api id {tg.api_id}, hash set")
        # The file the listener opens (`var/x` and `var/x.sess` become `….session`).
        session = session_path(tg)
        if session.exists():
            mode = stat.S_IMODE(session.stat().st_mode)
            if mode & 0o077:
                check(out, "session file", "fail", f"{session} is mode {mode:o}; run chmod 600")
            else:
                session_key_check(out, session)
        else:
            check(out, "session file", "missing", f"{session}: run `wirewatch login`")
    else:
        check(
            out,
            "telegram api",
            "missing",
            "WIREWATCH_TELEGRAM__API_ID / API_HASH unset: run works without the listener",
        )
    if settings.bot.configured:
        check(out, "bot token", "ok", f"set; Bot API at {settings.bot.api_url}")
    else:
        check(out, "bot token", "missing", "WIREWATCH_BOT__TOKEN unset: alerts wait in the outbox")
    db_admins: list[str] = []  # admins added with `wirewatch people add ... admin`
    parent = db_path.parent if str(db_path.parent) else Path(".")
    owner = db_path.stat().st_uid if not server and db_path.exists() else os.geteuid()
    if owner != os.geteuid():
        # Another account's archive (the service's, read by root or a colleague): what this
        # account may write says nothing about the service.
        check(
            out,
            "database owner",
            "warn",
            f"{db_path} belongs to {user_name(owner)}; checked read-only as {me()}: run "
            f"doctor as {user_name(owner)} (sudo wirewatch-admin doctor) to check that the "
            "service can write it",
        )
    elif not server and parent.exists() and not os.access(parent, os.W_OK):
        check(out, "database folder", "fail", f"{parent} is not writable")
    closed = None if server else unreachable(db_path)
    if closed is not None:
        check(out, "database", "fail", closed)
    elif owner == os.geteuid() and db_path.exists() and not os.access(db_path, os.W_OK):
        check(out, "database", "fail", f"{db_path} is not writable")
    elif not server and not db_path.exists():
        # A check creates nothing: an empty archive made here (the wrong folder, a typo in
        # WIREWATCH_DB) read as a healthy one with 0 posts, and hid the mistake.
        check(
            out,
            "database",
            "missing",
            f"{db_path} does not exist: `wirewatch run` or `wirewatch import` creates it "
            "(check WIREWATCH_DB and the working directory)",
        )
    else:
        try:
            async with open_store(settings, read_only=True) as store:
                integrity = await store.integrity_check()
                version = await store.schema_version()
                posts = await store.posts.count()
                sources = await store.sources.list()
                rules = await store.rules.list()
                people = await store.people.list()
                depth = await store.alerts.depth()
                size = await store.size_bytes()
                served_by = await store.server()
                lease = session_lease(tg)
                holder = await store.lease_holder(lease) if server and tg.configured else None
                pool = await pool_facts(store, settings) if settings.pooled else None
            status = "ok" if integrity == "ok" else "fail"
            check(
                out,
                "database",
                status,
                f"{where}: schema v{version}, integrity {integrity}, {size // 1024} KiB",
            )
            check(out, "archive", "ok", f"{posts} posts, {depth} alerts waiting")
            if server:
                check(out, "database server", "ok", served_by)
                if tg.configured and not settings.pooled:
                    check(
                        out,
                        "session lease",
                        "ok",
                        f"held by a running listener (server pid {holder})"
                        if holder is not None
                        else "free: no listener is using this session now",
                    )
            if pool is not None:
                account_checks(out, settings, pool)
            sources_check(out, sources, from_file=sources_file_note(settings))
            check(
                out,
                "rules",
                "ok" if rules else "missing",
                counted(len(rules), "rule") if rules else "none: add with `rules add`",
            )
            check(
                out,
                "people",
                "ok" if people else "missing",
                counted(len(people), "person", "people")
                if people
                else "none besides admins from settings",
            )
            db_admins = [p.label for p in people if p.role == "admin" and p.active]
        except SchemaBehind as exc:
            check(out, "database", "warn", str(exc))  # the service's next start migrates it
        except StorageError as exc:
            check(out, "database", "fail", str(exc))
    if settings.bot.admins:
        check(out, "admins", "ok", ", ".join(str(a) for a in settings.bot.admins))
    elif db_admins:
        check(out, "admins", "ok", f"{', '.join(db_admins)} (from the database)")
    else:
        check(out, "admins", "missing", "none in WIREWATCH_BOT__ADMINS or the database")
    if tg.sources_file is not None and not Path(tg.sources_file).is_file():
        check(out, "sources file", "fail", f"{tg.sources_file} does not exist")
    elif tg.sources_file is not None:
        from bot.desk.sources_file import load_sources_file

        try:
            specs = load_sources_file(tg.sources_file)
            check(
                out, "sources file", "ok", f"{tg.sources_file}: {counted(len(specs), 'channel')}"
            )
        except SourceError as exc:
            check(out, "sources file", "fail", str(exc))
    capture = settings.capture
    if capture.ocr:
        reason = OcrEngine(capture.ocr_langs).unavailable()
        detail = reason or f"tesseract with {capture.ocr_langs}"
        check(out, "ocr", "missing" if reason else "ok", detail)
    else:
        check(out, "ocr", "ok", "off (WIREWATCH_CAPTURE__OCR=false)")
    await service_checks(out, settings)
    if args.json:
        print_json(out)
    else:
        for row in out:
            # Details quote what came from outside: channels' errors, the listener's last one.
            print(f"{row['status'].upper():8} {row['check']:16} {terminal_text(row['detail'])}")
    return 1 if any(r["status"] == "fail" for r in out) else 0


async def service_checks(out: list[dict[str, str]], settings: Settings) -> None:
    """What `wirewatch run` depends on and reports: logging, retention, health, the outbox."""
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
    if not is_postgres_url(settings.db) and not db_path.exists():
        return
    try:
        async with open_store(settings, read_only=True) as store:
            counts = await store.alerts.counts()
            state = await store.state.all()
    except StorageError:
        return  # the database check above already said what is wrong
    failed = counts.get("failed", 0)
    held = counts.get("held", 0)
    # Translations given up (too old, nothing to translate) and alerts owed to people removed
    # from the desk are no delivery fault: no warning.
    given_up = counts.get("given_up", 0)
    cancelled = counts.get("cancelled", 0)
    check(
        out,
        "outbox",
        "warn" if failed else "ok",
        f"{counts.get('drafting', 0)} drafting, "
        f"{counts.get('pending', 0)} pending, {held} held, {failed} failed, "
        f"{counts.get('sent', 0)} sent"
        + (f", {given_up} translations given up" if given_up else "")
        + (f", {cancelled} cancelled (people removed from the desk)" if cancelled else ""),
    )
    if "listener.last_error" in state:
        value, at = state["listener.last_error"]
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
        check(out, "listener", "warn", f"last error at {when}: {note_text(value)}")
    feeds = {k: v for k, v in state.items() if k.startswith("feed.offset:")}
    for key, (value, _) in sorted(feeds.items()):
        check(out, "feed", "ok", f"{key.split(':', 1)[1]} consumed to byte {value}")


async def _probe_health(host: str, port: int) -> tuple[str, str]:
    """Ask a running service for /healthz; a refused connection just means it is not running."""
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
