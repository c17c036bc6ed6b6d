"""Which listener account reads which channel: a pure function of the channels' current
accounts and the accounts' health and limits.

The rules, in order:
- a channel an editor pinned to an account stays there;
- a channel whose account is usable (its process holds the lease, or it is still within its
  start grace) stays there, even when another account has more room: moving a channel costs a
  join and a catch-up, and re-balancing healthy accounts would do that for nothing;
- every other channel (new, its account failed, its lease expired, no longer configured, or it
  cannot read the channel) goes to the usable account with the most room under its limit that
  has not refused it; none with room leaves it unassigned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from storage.models import AccountLease, Assignment

Health = Literal["live", "starting", "down", "failed"]


@dataclass(frozen=True, slots=True)
class AccountView:
    name: str
    limit: int  # channels it may join (500; 1,000 with Premium)
    health: Health

    @property
    def usable(self) -> bool:
        return self.health in ("live", "starting")


@dataclass(frozen=True, slots=True)
class Move:
    source_id: int
    account: str | None  # None: no account has room
    was: str | None
    why: str


def health(lease: AccountLease | None, at: datetime, grace: timedelta) -> Health:
    """live: its process holds the lease; starting: configured but never run, within `grace`
    of being first seen; down: the lease expired, or it never ran within `grace`; failed:
    marked so."""
    if lease is None:
        return "starting"
    if lease.failed:
        return "failed"
    if lease.expires_at is not None:
        return "live" if lease.expires_at >= at else "down"
    return "starting" if lease.created_at + grace >= at else "down"


def assign(channels: Iterable[Assignment], accounts: Sequence[AccountView]) -> list[Move]:
    """The moves that bring `channels` in line with the rules above (none when they already
    are), in source id order."""
    by_name = {a.name: a for a in accounts}
    load = dict.fromkeys(by_name, 0)
    homeless: list[Assignment] = []
    for ch in sorted(channels, key=lambda c: c.source_id):
        account = by_name.get(ch.account) if ch.account is not None else None
        keeps = ch.account is not None and (
            ch.pinned or (account is not None and account.usable and ch.account not in ch.refused)
        )
        if keeps:
            if ch.account in load:
                load[ch.account] += 1
        else:
            homeless.append(ch)
    moves: list[Move] = []
    for ch in homeless:
        room = [
            a for a in accounts if a.usable and a.name not in ch.refused and load[a.name] < a.limit
        ]
        if not room:
            if ch.account is not None:
                moves.append(Move(ch.source_id, None, ch.account, _why(ch, by_name)))
            continue
        best = min(room, key=lambda a: (-(a.limit - load[a.name]), a.name))
        load[best.name] += 1
        moves.append(Move(ch.source_id, best.name, ch.account, _why(ch, by_name)))
    return moves


def _why(ch: Assignment, by_name: dict[str, AccountView]) -> str:
    if ch.account is None:
        return "not assigned"
    account = by_name.get(ch.account)
    if account is None:
        return f"account {ch.account} is not configured"
    if ch.account in ch.refused:
        return f"account {ch.account} cannot read it"
    return f"account {ch.account} is {account.health}"
