"""The evidence trail: each post version as its source gave it, hashed when captured.

Append-only by schema (triggers refuse UPDATE and DELETE); `EvidenceRecord.intact` recomputes
the hash, so a changed byte in a stored message is found and named.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from storage.db import Database, now
from storage.models import ts

EvidenceKind = Literal["version", "deletion"]


def sha256_text(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    id: int
    channel: str
    channel_id: int | None
    message_id: int
    kind: EvidenceKind
    version: int | None
    origin: str
    raw: str
    sha256: str  # as stored when captured
    captured_at: datetime

    @property
    def computed(self) -> str:
        """The hash of the message as stored now."""
        return sha256_text(self.raw)

    @property
    def intact(self) -> bool:
        return self.computed == self.sha256

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> EvidenceRecord:
        captured = ts(r["captured_at"])
        assert captured is not None
        return cls(
            id=r["id"],
            channel=r["channel"],
            channel_id=r["channel_id"],
            message_id=r["message_id"],
            kind=r["kind"],
            version=r["version"],
            origin=r["origin"],
            raw=r["raw"],
            sha256=r["sha256"],
            captured_at=captured,
        )


class EvidenceRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        *,
        channel: str,
        channel_id: int | None,
        message_id: int,
        kind: EvidenceKind,
        version: int | None,
        origin: str,
        raw: str,
        captured_at: int | None = None,
    ) -> int:
        """Append one record. Inside the pipeline's transaction, the post and its evidence
        commit together."""
        return await self.db.execute(
            "INSERT INTO evidence (channel, channel_id, message_id, kind, version, origin, raw,"
            " sha256, captured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                channel,
                channel_id,
                message_id,
                kind,
                version,
                origin,
                raw,
                sha256_text(raw),
                now() if captured_at is None else captured_at,
            ),
        )

    async def for_message(
        self, channel: str, message_id: int, channel_id: int | None = None
    ) -> list[EvidenceRecord]:
        """Every record of one post, oldest first; by username, or by peer id after a rename."""
        rows = await self.db.fetchall(
            "SELECT * FROM evidence WHERE message_id = ?"
            " AND (channel = ? OR (? IS NOT NULL AND channel_id = ?)) ORDER BY id",
            (message_id, channel.lower(), channel_id, channel_id),
        )
        return [EvidenceRecord.from_row(r) for r in rows]

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM evidence")
        return int(row[0]) if row else 0
