"""Channels we follow and the attribution they carry."""

from __future__ import annotations

from collections.abc import Mapping

from storage.db import Database, now
from storage.models import Source

ENSURE_SOURCE = (
    "INSERT INTO sources (username, peer_id, title, added_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (username) DO UPDATE SET "
    "  peer_id = COALESCE(sources.peer_id, excluded.peer_id),"
    "  title = COALESCE(excluded.title, sources.title)"
)
# Raises the catch-up mark, never lowers it. (message id, post date, source id)
ADVANCE = (
    "UPDATE sources SET last_message_id = MAX(last_message_id, ?),"
    " last_post_at = MAX(COALESCE(last_post_at, 0), COALESCE(?, 0)) WHERE id = ?"
)
# A source followed again (inactive -> active) starts over: its catch-up mark goes back to 0, so
# the listener's next look is a first look, a silent back-fill of the newest posts. From the old
# mark the catch-up alerted about everything posted while nobody followed it, up to
# telegram.catch_up_limit posts. The new `active` is the parameter; the old one is the row's.
REFOLLOW = "last_message_id = CASE WHEN active = 0 AND ? = 1 THEN 0 ELSE last_message_id END"

_ATTR_COLUMNS = tuple(
    f"{k}_{lang}" for k in ("person", "role", "short_role") for lang in ("uk", "en", "ru")
)


class SourceRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, source_id: int) -> Source | None:
        row = await self.db.fetchone("SELECT * FROM sources WHERE id = ?", (source_id,))
        return Source.from_row(row) if row else None

    async def by_username(self, username: str) -> Source | None:
        row = await self.db.fetchone(
            "SELECT * FROM sources WHERE username = ?", (username.lstrip("@").lower(),)
        )
        return Source.from_row(row) if row else None

    async def by_peer(self, peer_id: int) -> Source | None:
        row = await self.db.fetchone("SELECT * FROM sources WHERE peer_id = ?", (peer_id,))
        return Source.from_row(row) if row else None

    async def list(self, *, active_only: bool = False) -> list[Source]:
        sql = "SELECT * FROM sources"
        if active_only:
            sql += " WHERE active = 1"
        rows = await self.db.fetchall(sql + " ORDER BY username")
        return [Source.from_row(r) for r in rows]

    async def ensure(
        self, username: str, *, peer_id: int | None = None, title: str | None = None
    ) -> Source:
        """The source for `username`, registering it if new (attribution can come later)."""
        username = username.lstrip("@").lower()
        async with self.db.transaction() as conn:
            await conn.execute(
                ENSURE_SOURCE,
                (username, peer_id, title, now()),
            )
        src = await self.by_username(username)
        assert src is not None
        return src

    async def upsert(
        self,
        username: str,
        *,
        attribution: Mapping[str, str | None] | None = None,
        gender: str | None = None,
        title: str | None = None,
        active: bool = True,
        reconcile_every: int | None = None,
    ) -> Source:
        """Add or update a source; `attribution` keys are person_uk, role_en, ... (None skips)."""
        src = await self.ensure(username, title=title)
        sets: list[str] = [REFOLLOW, "active = ?"]
        params: list[object] = [int(active), int(active)]
        for key, value in (attribution or {}).items():
            if key not in _ATTR_COLUMNS:
                raise ValueError(f"unknown attribution field {key!r}")
            if value is not None:
                sets.append(f"{key} = ?")
                params.append(value)
        if gender is not None:
            # `gender` (m/f only, by its old CHECK) is kept in step for older readers.
            sets.append("grammar = ?")
            params.append(gender)
            sets.append("gender = ?")
            params.append(gender if gender in ("m", "f") else None)
        if reconcile_every is not None:
            sets.append("reconcile_every = ?")
            params.append(reconcile_every)
        params.append(src.id)
        await self.db.execute(f"UPDATE sources SET {', '.join(sets)} WHERE id = ?", params)
        out = await self.get(src.id)
        assert out is not None
        return out

    async def set_active(self, source_id: int, active: bool) -> None:
        await self.db.execute(
            f"UPDATE sources SET {REFOLLOW}, active = ? WHERE id = ?",
            (int(active), int(active), source_id),
        )

    async def set_peer(
        self, source_id: int, peer_id: int, access_hash: int | None, title: str | None
    ) -> None:
        """Cache the resolved peer so the username is never resolved again."""
        await self.db.execute(
            "UPDATE sources SET peer_id = ?, access_hash = ?, title = COALESCE(?, title), "
            "error = NULL WHERE id = ?",
            (peer_id, access_hash, title, source_id),
        )

    async def account_hash(self, source_id: int, account_id: int) -> int | None:
        """The channel's access hash for this listener account, if it resolved the channel."""
        row = await self.db.fetchone(
            "SELECT access_hash FROM source_peers WHERE source_id = ? AND account_id = ?",
            (source_id, account_id),
        )
        return int(row[0]) if row else None

    async def set_account_hash(self, source_id: int, account_id: int, access_hash: int) -> None:
        await self.db.execute(
            "INSERT INTO source_peers (source_id, account_id, access_hash) VALUES (?, ?, ?) "
            "ON CONFLICT (source_id, account_id) DO UPDATE SET access_hash = excluded.access_hash",
            (source_id, account_id, access_hash),
        )

    async def forget_account_hash(self, source_id: int, account_id: int) -> None:
        await self.db.execute(
            "DELETE FROM source_peers WHERE source_id = ? AND account_id = ?",
            (source_id, account_id),
        )

    async def claim_unowned_hashes(self, account_id: int) -> int:
        """Give the hashes cached before accounts were recorded (account 0) to this account;
        a wrong guess costs one CHANNEL_INVALID and a re-resolve. Returns how many."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO source_peers (source_id, account_id, access_hash) "
                "SELECT source_id, ?, access_hash FROM source_peers WHERE account_id = 0",
                (account_id,),
            )
            claimed = cur.rowcount
            await conn.execute("DELETE FROM source_peers WHERE account_id = 0")
        return max(claimed, 0)

    async def rename(self, source_id: int, username: str) -> bool:
        """Give the source its channel's new username (the channel was renamed on Telegram);
        False when another source already has that name. Rules for one channel are matched by
        its name: the rules' version moves with it, so every matcher is rebuilt."""
        taken = await self.db.fetchone(
            "SELECT id FROM sources WHERE username = ? AND id <> ?", (username, source_id)
        )
        if taken is not None:
            return False
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET username = ? WHERE id = ?", (username, source_id)
            )
            await conn.execute("UPDATE rules_version SET n = n + 1 WHERE id = 1")
        return True

    async def set_error(self, source_id: int, error: str | None) -> None:
        await self.db.execute("UPDATE sources SET error = ? WHERE id = ?", (error, source_id))

    async def hold(self, source_id: int) -> None:
        """Make other processes' writes to this channel's posts wait for the caller's
        transaction, and wait for theirs. SQLite has one writer at a time already;
        PostgreSQL's twin locks the channel's row, as storing a post does (advance)."""
        return None

    async def advance(self, source_id: int, message_id: int, post_ts: int | None) -> None:
        """Raise the catch-up mark; never lowers it (events may arrive out of order)."""
        await self.db.execute(
            ADVANCE,
            (message_id, post_ts, source_id),
        )

    async def remove(self, source_id: int) -> None:
        await self.db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
