"""Migration 0008 rebuilds the alerts table (a new kind): an existing outbox comes through
whole, replies still point at their alerts, and deleting a person still cascades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.db import migrations
from storage.store import Store


async def test_upgrading_keeps_every_alert_and_its_reply_link(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    for number, _, sql in migrations():
        if number <= 7:  # everything before 0008
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.execute(
        "INSERT INTO people (id, user_id, role, lang, tz, added_at) "
        "VALUES (1, 11, 'journalist', 'en', 'UTC', 0)"
    )
    conn.execute("INSERT INTO sources (id, username, added_at) VALUES (1, 'demo', 0)")
    conn.execute(
        "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas, stored_at) "
        "VALUES (1, 1, 5, 0, 'Текст.', 'текст.', 'текст', 0)"
    )
    conn.execute(
        "INSERT INTO alerts (id, person_id, post_id, kind, payload, created_at, spans, "
        "tg_message_id, status) "
        "VALUES (1, 1, 1, 'new', '{}', 0, '[[0, 5, \"текст\"]]', 77, 'sent')"
    )
    conn.execute(
        "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, created_at, "
        "reply_to_alert) VALUES (2, 1, 1, 'edit', 2, '{}', 0, 1)"
    )
    conn.close()
    store = await Store.open(path)
    try:
        first, edit = await store.alerts.for_person(1)
        assert (first.tg_message_id, first.spans) == (77, ((0, 5, "текст"),))
        assert edit.reply_to_alert == 1
        new_id = await store.alerts.enqueue(
            person_id=1, post_id=1, kind="translation", version=1, payload={}, reply_to_alert=1
        )
        assert new_id is not None
        assert await store.db.fetchall("PRAGMA foreign_key_check") == []
        await store.db.execute("DELETE FROM people WHERE id = 1")
        assert await store.alerts.for_person(1) == []
    finally:
        await store.close()
