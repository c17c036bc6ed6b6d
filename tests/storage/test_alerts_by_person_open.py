"""A person's alerts still to go (drafting, pending, held) have an index of their own,
`alerts_by_person_open` (SQLite 0029, PostgreSQL 0024), in place of one over every alert a
person ever had: an outbox upgraded with data in it keeps each person's order and holds, on
both back ends, and on SQLite every person-and-status lookup of the outbox reads that index
(SQLite uses a partial index only where the query repeats its condition)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.store import Store
from tests.storage.old_schema import old_postgres, old_sqlite

SQLITE_BEFORE = 28  # the last SQLite migration before 0029_alerts_by_person_open
PG_BEFORE = 23  # the last PostgreSQL migration before 0024_alerts_by_person_open

ROWS = [
    "INSERT INTO people (id, user_id, role, lang, tz, added_at)"
    " VALUES (1, 11, 'journalist', 'en', 'UTC', 0)",
    "INSERT INTO people (id, user_id, role, lang, tz, added_at)"
    " VALUES (2, 12, 'journalist', 'uk', 'UTC', 0)",
    "INSERT INTO sources (id, username, added_at) VALUES (1, 'demo', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (1, 1, 5, 1000, 'Перший.', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (2, 1, 6, 2000, 'Другий.', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (3, 1, 7, 3000, 'Третій.', 0)",
    # Person 1: a story sent, one still drafting, and a later one pending behind it.
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at)"
    " VALUES (1, 1, 1, 'new', '{}', 'sent', 0)",
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at)"
    " VALUES (2, 1, 2, 'new', '{}', 'drafting', 0)",
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at)"
    " VALUES (3, 1, 3, 'new', '{}', 'pending', 0)",
    # Person 2: a story held for the night and its update, waiting for it.
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at)"
    " VALUES (4, 2, 1, 'new', '{}', 'held', 0)",
    "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, status, created_at,"
    " reply_to_alert) VALUES (5, 2, 1, 'edit', 2, '{}', 'pending', 0, 4)",
]


async def _indexes(store: Store, pg: bool) -> dict[str, str]:
    if pg:
        rows = await store.db.fetchall(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'alerts'"
            " AND schemaname = current_schema()"
        )
    else:
        rows = await store.db.fetchall(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts'"
        )
    return {str(r[0]): str(r[1]) for r in rows}


async def test_an_upgraded_outbox_keeps_each_persons_order_and_holds(db_target: str) -> None:
    pg = db_target.startswith("postgresql")
    if pg:
        conn = await old_postgres(db_target, PG_BEFORE, ROWS)
        try:
            await conn.execute("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 5)")
        finally:
            await conn.close()
    else:
        old_sqlite(db_target, SQLITE_BEFORE, ROWS)
    store = await Store.open(db_target)
    try:
        indexes = await _indexes(store, pg)
        assert "alerts_by_person_pending" not in indexes
        assert "WHERE" in indexes["alerts_by_person_open"].upper()
        # Alert 3 waits behind its person's draft; 5 behind the story it updates.
        assert await store.alerts.due(at=10) == []
        assert [a.id for a in await store.alerts.held(2)] == [4]
        assert await store.alerts.release_person(2) == 1
        assert [a.id for a in await store.alerts.due(at=10)] == [4, 5]
        assert await store.alerts.hold_person(2, "blocked") == 2
        assert [a.id for a in await store.alerts.held(2)] == [4, 5]
        # A person's whole history is still theirs to read, sent alerts included.
        assert [a.id for a in await store.alerts.for_person(1)] == [1, 2, 3]
    finally:
        await store.close()


async def test_person_lookups_read_the_index_of_alerts_still_to_go(tmp_path: Path) -> None:
    """Each statement the outbox runs to find a person's alerts by status, as SQLite plans it:
    through alerts_by_person_open, not the unique key's person range (every alert the person
    ever had, sent ones included)."""
    path = str(tmp_path / "w.db")
    store = await Store.open(path)
    seen: list[str] = []
    try:
        for row in ROWS:
            await store.db.execute(row)
        raw = store.db.conn._conn  # type: ignore[union-attr]
        raw.set_trace_callback(seen.append)
        try:
            await store.alerts.due(at=10)
            await store.alerts.held(2)
            await store.alerts.hold_follow_ups(2)
            await store.alerts.release_candidates()
            await store.alerts.release_person(2)
            await store.alerts.hold_person(2, "blocked")
            await store.alerts.settle_removed(2)
        finally:
            raw.set_trace_callback(None)
    finally:
        await store.close()
    lookups = [s for s in seen if "person_id" in s and "alerts" in s]
    assert len(lookups) == 7
    conn = sqlite3.connect(path)
    try:
        for sql in lookups:
            plan = "\n".join(str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "alerts_by_person_open" in plan, (sql, plan)
    finally:
        conn.close()
