"""Machine translations of quotes, cached per post version, target language and quoted text."""

from __future__ import annotations

import hashlib

from storage.db import Database, now


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(
        self, post_id: int, version: int, target: str, text: str
    ) -> tuple[str, str] | None:
        """(translation, provider) when cached."""
        row = await self.db.fetchone(
            "SELECT text, provider FROM translations WHERE post_id = ? AND version = ?"
            " AND target = ? AND source_hash = ?",
            (post_id, version, target, _hash(text)),
        )
        return (str(row[0]), str(row[1])) if row else None

    async def put(
        self, post_id: int, version: int, target: str, text: str, provider: str, translated: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO translations (post_id, version, target, source_hash, provider, text,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (post_id, version, target, _hash(text), provider, translated, now()),
        )
