"""Several listener accounts: the lease of the account this process runs, and the assignment
of channels to accounts, looked at every `telegram.assign_interval` seconds.

`wirewatch run --role listener --account NAME` runs one account. Its process holds the
account's lease: on PostgreSQL an advisory lock (dies with the process: a restarted listener
takes it back at once) plus a row that says who holds it and until when, renewed on every look.
An account whose lease expired (its process gone for `telegram.lease_ttl` seconds), or that an
operator marked failed, loses its channels to the others (bot/desk/assignment.py decides).

No channel is read by two accounts at once: a listener that could not renew its lease stops
reading before the lease expires, and a moved channel is taken up by its new account only
after the old one let it go (`reader`), or once the old account's lease expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.desk.assignment import AccountView, Move, assign, health
from bot.settings import DEFAULT_ACCOUNT, Settings
from sources.telegram.config import TelegramSettings
from storage.models import AccountLease, Source
from storage.store import DATABASE_ERRORS, Store

if TYPE_CHECKING:
    from bot.service.app import App
    from sources.telegram.listener import Listener

log = logging.getLogger(__name__)


def account_lease_name(account: str) -> str:
    """The advisory lock a listener process holds while it runs `account`."""
    return f"telegram-account:{account}"


def holder_name() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def account_views(
    settings: Settings, leases: dict[str, AccountLease], at: datetime
) -> list[AccountView]:
    grace = timedelta(seconds=settings.telegram.lease_ttl)
    out = []
    for name in settings.account_names():
        lease = leases.get(name)
        out.append(
            AccountView(
                name=name,
                limit=settings.account(name).max_channels,
                health=health(lease, at, grace),
            )
        )
    return out


async def rebalance(store: Store, settings: Settings) -> list[Move]:
    """Run the assignment once, in one transaction, one process at a time; the moves made."""
    async with store.transaction():
        await store.accounts.lock()
        await store.accounts.ensure(settings.account_names())
        leases = {lease.account: lease for lease in await store.accounts.leases()}
        views = account_views(settings, leases, datetime.now(UTC))
        moves = assign(await store.accounts.assignments(), views)
        for move in moves:
            await store.accounts.assign(move.source_id, move.account)
    for move in moves:
        log.info(
            "channel %d: %s -> %s (%s)",
            move.source_id,
            move.was or "none",
            move.account or "none",
            move.why,
        )
    return moves


class LeaseLost(Exception):
    """Another process holds this account's lease."""


class AccountInUseError(Exception):
    """`run --account NAME` while another process runs that account."""


class AccountRunner:
    """The lease and the channel set of the one account this process runs."""

    def __init__(self, store: Store, settings: Settings, name: str) -> None:
        self.store = store
        self.settings = settings
        self.name = name
        self.holder = holder_name()
        self.ttl = settings.telegram.lease_ttl
        self.renewed = 0.0  # monotonic time of the last renewal
        self.reading: frozenset[int] = frozenset()
        self.moves = 0
        self.lost = False  # another process took the lease: read nothing until taken back

    async def take(self) -> str | None:
        """Take the account's lease; the reason it cannot when another process holds it."""
        name = account_lease_name(self.name)
        if not await self.store.try_lease(name):
            pid = await self.store.lease_holder(name)
            held = {lease.account: lease for lease in await self.store.accounts.leases()}
            lease = held.get(self.name)
            who = lease.holder if lease and lease.holder else f"server pid {pid}"
            until = (
                f", lease renewed {lease.renewed_at:%Y-%m-%d %H:%M:%S} UTC"
                if lease and lease.renewed_at
                else ""
            )
            return f"account {self.name} is already run by another process ({who}{until})"
        await self.store.accounts.ensure(self.settings.account_names())
        await self.store.accounts.take(self.name, self.holder, self.ttl)
        self.renewed = time.monotonic()
        return None

    @property
    def fenced(self) -> bool:
        """Whether the lease may have expired for the others, or another process took it: stop
        reading. A quarter of the lease is the margin for clocks and a slow database."""
        return self.lost or time.monotonic() - self.renewed > self.ttl * 0.75

    async def renew(self) -> None:
        """Extend the lease (LeaseLost if another process took it)."""
        if not await self.store.accounts.renew(self.name, self.holder, self.ttl):
            raise LeaseLost(f"account {self.name}: another process took the lease")
        self.renewed = time.monotonic()

    async def assignment(self) -> tuple[set[int], set[int]]:
        """Run the assignment and claim this account's channels. Returns (the channels to
        read, the channels to let go)."""
        self.moves += len(await rebalance(self.store, self.settings))
        leases = {lease.account: lease for lease in await self.store.accounts.leases()}
        usable = [
            v.name
            for v in account_views(self.settings, leases, datetime.now(UTC))
            if v.usable and v.name != self.name
        ]
        await self.store.accounts.claim(self.name, usable)
        read: set[int] = set()
        drop: set[int] = set()
        for row in await self.store.accounts.assignments():
            if row.account == self.name and row.reader == self.name:
                read.add(row.source_id)
            elif row.account != self.name and row.reader == self.name:
                drop.add(row.source_id)
        return read, drop

    async def look(self) -> tuple[set[int], set[int]]:
        """Renew the lease, then run the assignment: (the channels to read, to let go)."""
        await self.renew()
        return await self.assignment()

    async def let_go(self, ids: set[int]) -> None:
        await self.store.accounts.let_go(self.name, ids)

    async def inaccessible(self, src: Source, why: str) -> None:
        log.warning(
            "account %s cannot read @%s (%s): it goes to another account",
            self.name,
            src.username,
            why,
        )
        await self.store.accounts.refuse(src.id, self.name)


async def run_account(runner: AccountRunner, listener: Listener, stop: asyncio.Event) -> None:
    """Renew the lease and look at the assignment every `assign_interval` seconds, giving the
    listener its channels; read nothing while the lease cannot be renewed. Two loops: the
    assignment may wait behind this process's ingest (one transaction at a time), the lease
    must not."""
    every = runner.settings.telegram.assign_interval
    fence = asyncio.Lock()  # a fence and a new channel set never interleave

    async def pause() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)

    async def lease() -> None:
        while not stop.is_set():
            try:
                async with asyncio.timeout(max(1.0, runner.ttl * 0.25)):
                    if runner.lost:
                        # Taken back only when no other process holds the account.
                        if (why := await runner.take()) is not None:
                            raise LeaseLost(why)
                        runner.lost = False
                    await runner.renew()
            except (TimeoutError, LeaseLost, *DATABASE_ERRORS) as exc:  # type: ignore[misc]
                log.error("account %s: lease not renewed: %s", runner.name, _said(exc))
                if isinstance(exc, LeaseLost):
                    runner.lost = True
                if runner.fenced:
                    async with fence:
                        if listener.allowed:
                            log.error("account %s: reading nothing until it is", runner.name)
                        await listener.reassign(())
                        runner.reading = frozenset()
            await pause()

    async def assignment() -> None:
        while not stop.is_set():
            try:
                async with asyncio.timeout(max(10.0, runner.ttl * 2.0)):
                    read, drop = await runner.assignment()
            except (TimeoutError, *DATABASE_ERRORS) as exc:  # type: ignore[misc]
                log.error("account %s: assignment: %s", runner.name, _said(exc))
            else:
                async with fence:
                    # Fenced: the lease loop stops the reading; let nothing go while unsure.
                    fenced = runner.fenced
                    if not fenced:
                        await listener.reassign(read)
                        runner.reading = frozenset(read)
                if drop and not fenced:
                    await runner.let_go(drop)
            await pause()

    # One failing takes the other down with it; the supervisor restarts both.
    async with asyncio.TaskGroup() as group:
        group.create_task(lease())
        group.create_task(assignment())


def _said(exc: BaseException) -> str:
    return str(exc) or f"{type(exc).__name__}: the database did not answer in time"


# -- what `wirewatch run` does with an account (the App's side) --------------------------------


def pooled(app: App) -> bool:
    """Whether this process runs one of several accounts sharing the channels."""
    return app.role in ("all", "listener") and (app.settings.pooled or app.account is not None)


def credentials_hint(account: str | None) -> str:
    """The settings that give `account` its API credentials."""
    if account in (None, DEFAULT_ACCOUNT):
        return "WIREWATCH_TELEGRAM__API_ID / API_HASH"
    return f"WIREWATCH_ACCOUNTS__{str(account).upper()}__API_ID / API_HASH"


def listener_settings(app: App) -> TelegramSettings:
    """The settings of the account this process listens with."""
    return app.settings.account(app.account or DEFAULT_ACCOUNT)


async def take_account(app: App) -> AccountRunner | None:
    """Hold the account's session file and lease before anything reads with it; None when the
    account has no credentials (the listener says what is missing). While another process runs
    the account this one waits (stopped meanwhile: AccountInUseError)."""
    from sources.telegram.session import SessionInUseError, lock_session, session_path

    assert app.store is not None
    name = app.account or DEFAULT_ACCOUNT
    tg = listener_settings(app)
    if not tg.configured:
        return None
    path = session_path(tg)
    path.parent.mkdir(parents=True, exist_ok=True)
    runner = AccountRunner(app.store, app.settings, name)
    said = 0.0
    # Another process runs the account (this machine: the session file's lock; any machine:
    # the lease): wait for it. A restart after a crash finds it free at once; a second process
    # for one account stands by until the first ends.
    while True:
        try:
            lock_session(path)
        except SessionInUseError as exc:
            refused: str | None = f"account {name}: {exc}"
        else:
            app._session_path = path
            refused = await runner.take()
        if refused is None:
            return runner
        if time.monotonic() - said > 60:
            log.warning("%s; waiting for it to end", refused)
            said = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.stop_event.wait(), timeout=1.0)
        if app.stop_event.is_set():
            raise AccountInUseError(refused)


async def start_account(app: App, runner: AccountRunner, listener: Listener) -> None:
    """The listener starts with its assigned channels only, then follows the assignment."""
    read, drop = await runner.look()
    await listener.reassign(read)
    await runner.let_go(drop)
    runner.reading = frozenset(read)
    listener.on_inaccessible = runner.inaccessible
    app._spawn("accounts", lambda: run_account(runner, listener, app.stop_event))


def account_status(runner: AccountRunner | None) -> dict[str, Any] | None:
    """The account this process runs, for /healthz."""
    if runner is None:
        return None
    return {
        "name": runner.name,
        "holder": runner.holder,
        "channels": len(runner.reading),
        "lease_fresh": not runner.fenced,
        "moves": runner.moves,
    }
