"""Listener accounts: their leases, and which account reads each channel.

A listener process holds its account's lease (a row renewed while it runs; on PostgreSQL also an
advisory lock that dies with the process). The assignment is a row per channel: the account
that should read it, whether an editor pinned it there, the account reading it now (`reader`,
so a moved channel waits until the old account let go) and the accounts that cannot read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from storage.db import Database, now
from storage.models import AccountLease, Assignment, ts


def _refused(text: str) -> frozenset[str]:
    return frozenset(x for x in text.split(",") if x)


class AccountRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def lock(self) -> None:
        """Inside a transaction: one process at a time changes the assignment. SQLite's
        `BEGIN IMMEDIATE` already serialises writers."""
        return None

    async def ensure(self, names: Iterable[str]) -> None:
        """Record the configured accounts (their first sighting starts their start grace)."""
        stamp = now()
        await self.db.executemany(
            "INSERT OR IGNORE INTO account_leases (account, created_at) VALUES (?, ?)",
            [(name, stamp) for name in names],
        )

    async def leases(self) -> list[AccountLease]:
        rows = await self.db.fetchall(
            "SELECT account, holder, taken_at, renewed_at, expires_at, created_at, failed"
            " FROM account_leases ORDER BY account"
        )
        return [
            AccountLease(
                account=r[0],
                holder=r[1],
                taken_at=ts(r[2]),
                renewed_at=ts(r[3]),
                expires_at=ts(r[4]),
                created_at=datetime.fromtimestamp(r[5], UTC),
                failed=r[6],
            )
            for r in rows
        ]

    async def take(self, account: str, holder: str, ttl: int) -> None:
        """Record `holder` as running `account` for `ttl` seconds. The caller already holds
        what keeps a second process out (the session file's lock, the advisory lock)."""
        stamp = now()
        await self.db.execute(
            "INSERT INTO account_leases"
            " (account, holder, taken_at, renewed_at, expires_at, created_at, failed)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL)"
            " ON CONFLICT (account) DO UPDATE SET holder = excluded.holder,"
            " taken_at = excluded.taken_at, renewed_at = excluded.renewed_at,"
            " expires_at = excluded.expires_at, failed = NULL",
            (account, holder, stamp, stamp, stamp + ttl, stamp),
        )

    async def renew(self, account: str, holder: str, ttl: int) -> bool:
        """Extend the lease; False if another process took it meanwhile."""
        stamp = now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE account_leases SET renewed_at = ?, expires_at = ?"
                " WHERE account = ? AND holder = ?",
                (stamp, stamp + ttl, account, holder),
            )
            return int(cur.rowcount) == 1

    async def set_failed(self, account: str, reason: str | None) -> bool:
        """Mark an account failed (its channels move) or, with None, usable again."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE account_leases SET failed = ? WHERE account = ?", (reason, account)
            )
            return int(cur.rowcount) == 1

    async def assignments(self) -> list[Assignment]:
        """Every active channel with its assignment (account None where there is none)."""
        rows = await self.db.fetchall(
            "SELECT s.id, s.username, a.account, a.pinned, a.reader, a.refused"
            " FROM sources s LEFT JOIN source_accounts a ON a.source_id = s.id"
            " WHERE s.active = 1 ORDER BY s.id"
        )
        return [
            Assignment(
                source_id=r[0],
                username=r[1],
                account=r[2],
                pinned=bool(r[3]),
                reader=r[4],
                refused=_refused(r[5] or ""),
            )
            for r in rows
        ]

    async def assign(self, source_id: int, account: str | None, *, pinned: bool = False) -> None:
        """Give a channel to `account` (pinned: an editor's choice, kept until changed)."""
        await self.db.execute(
            "INSERT INTO source_accounts (source_id, account, pinned, assigned_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source_id) DO UPDATE SET account = excluded.account,"
            " pinned = excluded.pinned, assigned_at = excluded.assigned_at",
            (source_id, account, int(pinned), now()),
        )

    async def set_reader(self, source_id: int, reader: str | None, *, was: str | None) -> bool:
        """Hand a channel's reading from `was` to `reader` (either may be None); False if
        someone else changed it first."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE source_accounts SET reader = ? WHERE source_id = ? AND reader IS ?",
                (reader, source_id, was),
            )
            return int(cur.rowcount) == 1

    async def claim(self, account: str, others: Iterable[str]) -> None:
        """Take up reading every channel given to `account` that nobody reads or whose reader
        is not one of `others` (the other accounts still usable: their process stops reading
        before their lease expires)."""
        keep = sorted(set(others) - {account})
        held = f" OR reader NOT IN ({', '.join('?' * len(keep))})" if keep else " OR 1 = 1"
        await self.db.execute(
            f"UPDATE source_accounts SET reader = ? WHERE account = ? AND (reader IS NULL{held})",
            (account, account, *keep),
        )

    async def let_go(self, account: str, source_ids: Iterable[int]) -> None:
        """`account` no longer reads these channels: their new account may take them up."""
        ids = sorted(source_ids)
        if not ids:
            return
        await self.db.execute(
            "UPDATE source_accounts SET reader = NULL WHERE reader = ?"
            f" AND source_id IN ({', '.join('?' * len(ids))})",
            (account, *ids),
        )

    async def refuse(self, source_id: int, account: str) -> None:
        """`account` cannot read this channel (private to it, banned): never assign it there."""
        row = await self.db.fetchone(
            "SELECT refused FROM source_accounts WHERE source_id = ?", (source_id,)
        )
        refused = _refused(row[0] if row else "") | {account}
        await self.db.execute(
            "INSERT INTO source_accounts (source_id, account, pinned, assigned_at, refused)"
            " VALUES (?, NULL, 0, ?, ?)"
            " ON CONFLICT (source_id) DO UPDATE SET refused = excluded.refused",
            (source_id, now(), ",".join(sorted(refused))),
        )
