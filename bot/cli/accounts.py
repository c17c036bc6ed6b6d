"""`wirewatch accounts list|fail|restore` and `wirewatch sources assign`: the listener accounts,
their leases and which channels each reads."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cli.common import UsageError, add_verb, open_store, print_result, verb_group
from bot.desk.assignment import health
from bot.settings import DEFAULT_ACCOUNT, Settings
from storage.records import normalize_username

AUTO = "auto"


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    verbs = verb_group(sub, "accounts", "listener accounts: leases and their channels")
    add_verb(
        verbs,
        "list",
        parent=parent,
        help_text="every account: who runs it, its lease, its channels",
        func=cmd_list,
    )
    fail = add_verb(
        verbs,
        "fail",
        parent=parent,
        help_text="mark an account failed (banned, number lost): its channels move to others",
        func=cmd_fail,
    )
    fail.add_argument("account")
    fail.add_argument("reason", nargs="?", default="marked failed by an operator")
    restore = add_verb(
        verbs,
        "restore",
        parent=parent,
        help_text="an account marked failed may take channels again (new ones only)",
        func=cmd_restore,
    )
    restore.add_argument("account")


def register_assign(verbs: Any, parent: argparse.ArgumentParser) -> None:
    """`wirewatch sources assign @channel NAME|auto` (a verb of `sources`)."""
    p = add_verb(
        verbs,
        "assign",
        parent=parent,
        help_text="read a channel with this account (pinned), or 'auto' to let the balance decide",
        func=cmd_assign,
    )
    p.add_argument("channel", help="@username or https://t.me/username")
    p.add_argument("account", help=f"an account name, or '{AUTO}'")


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    # A listing never writes: accounts without a lease row yet are listed from the settings.
    async with open_store(settings, read_only=True) as store:
        leases = {lease.account: lease for lease in await store.accounts.leases()}
        rows = await store.accounts.assignments()
        followed = sum(1 for s in await store.sources.list() if s.active)
    stamp = datetime.now(UTC)
    grace = timedelta(seconds=settings.telegram.lease_ttl)
    load: Counter[str | None] = Counter(r.account for r in rows)
    pinned = Counter(r.account for r in rows if r.pinned)
    if not settings.pooled:
        # One account reads every followed channel; the assignment table is the pool's.
        load = Counter({DEFAULT_ACCOUNT: followed})
    out = []
    for name in settings.account_names():
        lease = leases.get(name)
        note = None
        if not settings.account(name).configured:
            prefix = "WIREWATCH_TELEGRAM" if name == DEFAULT_ACCOUNT else f"account {name}'s"
            note = f"{prefix}__API_ID / API_HASH unset: the listener does not run"
        elif not settings.pooled:
            note = "the one account reads every followed channel (leases are for several)"
        out.append(
            {
                "account": name,
                # One account keeps no lease: "starting" for ever said nothing true.
                "health": health(lease, stamp, grace) if settings.pooled else None,
                "note": note,
                "holder": lease.holder if lease else None,
                "expires_at": lease.expires_at.isoformat() if lease and lease.expires_at else None,
                "failed": lease.failed if lease else None,
                "channels": load.get(name, 0),
                "pinned": pinned.get(name, 0),
                "max_channels": settings.account(name).max_channels,
            }
        )
    unassigned = load.get(None, 0)
    if args.json:
        print_result(True, {"accounts": out, "unassigned": unassigned}, "")
        return 0
    for a in out:
        who = f"  {a['holder']}" if a["holder"] else ""
        why = f"  ({a['failed']})" if a["failed"] else ""
        note = f"  {a['note']}" if a["note"] else ""
        print(
            f"{a['account']:16} {a['health'] or '-':8} {a['channels']:>5}/{a['max_channels']} "
            f"channels ({a['pinned']} pinned){who}{why}{note}"
        )
    if unassigned:
        print(f"{unassigned} channels have no account with room")
    return 0


async def cmd_fail(args: argparse.Namespace, settings: Settings) -> int:
    _known(settings, args.account)
    async with open_store(settings, must_exist=True) as store:
        await store.accounts.ensure(settings.account_names())
        await store.accounts.set_failed(args.account, args.reason[:200])
    print_result(
        args.json,
        {"account": args.account, "failed": args.reason},
        f"account {args.account} marked failed: the running listeners move its channels "
        "(pinned ones stay)",
    )
    return 0


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    _known(settings, args.account)
    async with open_store(settings, must_exist=True) as store:
        await store.accounts.set_failed(args.account, None)
    print_result(
        args.json,
        {"account": args.account, "failed": None},
        f"account {args.account} may take channels again",
    )
    return 0


async def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    account = args.account.lower()
    if account != AUTO:
        _known(settings, account)
    name = normalize_username(args.channel)
    async with open_store(settings, must_exist=True) as store:
        src = await store.sources.by_username(name)
        if src is None:
            raise UsageError(f"@{name} is not a source: add it with `wirewatch sources add`")
        if account == AUTO:
            await store.accounts.assign(src.id, None)  # the next look gives it a home
        else:
            await store.accounts.assign(src.id, account, pinned=True)
    text = (
        f"@{name}: the running listeners give it to the account with the most room"
        if account == AUTO
        else f"@{name} is read by account {account} (pinned); its old account lets it go first"
    )
    print_result(args.json, {"channel": name, "account": account}, text)
    return 0


def _known(settings: Settings, account: str) -> None:
    if account not in settings.account_names():
        raise UsageError(
            f"no account {account!r}: configured are {', '.join(settings.account_names())}"
        )
