"""The evidence trail: each post version as its source gave it, hashed when captured.

Append-only by schema (triggers refuse UPDATE and DELETE); `EvidenceRecord.intact` recomputes
the hash, so a changed byte in a stored message is found and named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from storage.db import Database, now
from storage.models import ts
from storage.records import Deletion, Post

EvidenceKind = Literal["version", "deletion"]

INSERT_EVIDENCE = (
    "INSERT INTO evidence (channel, channel_id, message_id, kind, version, origin, raw,"
    " sha256, captured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def sha256_text(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def post_json(post: Post) -> str:
    """The record itself, for a post whose source kept no raw message (made in code)."""
    return json.dumps(
        {
            "channel": post.channel,
            "id": post.message_id,
            "date": post.date.isoformat(),
            "edit_date": post.edit_date.isoformat() if post.edit_date else None,
            "text": post.text,
            "media": post.media,
            "grouped_id": post.grouped_id,
            "forward_from": post.forward_from,
            "forward_link": post.forward_link,
            "reply_to": post.reply_to,
            "links": list(post.links),
        },
        ensure_ascii=False,
    )


def deletion_json(deletion: Deletion) -> str:
    """What we saw of a deletion when its source kept no raw update (reconciliation: the ids
    were missing from the channel's history)."""
    return json.dumps(
        {
            "channel": deletion.channel,
            "channel_id": deletion.channel_id,
            "deleted_ids": list(deletion.message_ids),
            "noticed_at": deletion.date.isoformat(),
        },
        ensure_ascii=False,
    )


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
            INSERT_EVIDENCE,
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

    async def record_many(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Many `record(**r)` at once (bulk imports)."""
        if not records:
            return
        stamp = now()
        await self.db.executemany(
            INSERT_EVIDENCE,
            [
                (
                    r["channel"],
                    r["channel_id"],
                    r["message_id"],
                    r["kind"],
                    r["version"],
                    r["origin"],
                    r["raw"],
                    sha256_text(r["raw"]),
                    r.get("captured_at") or stamp,
                )
                for r in records
            ],
        )

    async def for_message(
        self, channel: str, message_id: int, channel_id: int | None = None
    ) -> list[EvidenceRecord]:
        """Every record of one post, oldest first; by username, or by peer id after a rename.
        An album's post: the deletions of its other messages too (each under its own id)."""
        name = channel.lower()
        # Spelled per case: PostgreSQL cannot type a parameter that is only tested for NULL.
        who: tuple[object, ...] = (name,) if channel_id is None else (name, channel_id)
        source = "s.username = ?" if channel_id is None else "(s.username = ? OR s.peer_id = ?)"
        members = await self.db.fetchall(
            "SELECT a.message_id FROM album_items a JOIN posts p ON p.id = a.post_id"
            f" JOIN sources s ON s.id = p.source_id WHERE p.message_id = ? AND {source}",
            (message_id, *who),
        )
        ids = [message_id, *(int(r[0]) for r in members)]
        marks = ",".join("?" * len(ids))
        record = "channel = ?" if channel_id is None else "(channel = ? OR channel_id = ?)"
        rows = await self.db.fetchall(
            f"SELECT * FROM evidence WHERE message_id IN ({marks}) AND {record}"
            " AND (message_id = ? OR kind = 'deletion') ORDER BY id",
            (*ids, *who, message_id),
        )
        return [EvidenceRecord.from_row(r) for r in rows]

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM evidence")
        return int(row[0]) if row else 0
