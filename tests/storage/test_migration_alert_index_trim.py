"""An outbox from before the alert index trim (SQLite 0020, PostgreSQL 0016) upgraded with data
in it: replies keep their links, follow-ups still find their story heads, and deleting an
alert still finds the replies to unlink through an index (the partial `alerts_replies`), on
both back ends, each built at the old schema version with its own migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.alerts import thread_heads
from storage.ingest import Thread
from storage.store import Store
from tests.storage.old_schema import old_postgres, old_sqlite

SQLITE_BEFORE = 19  # the last SQLite migration before 0020_alert_index_trim
PG_BEFORE = 15  # the last PostgreSQL migration before 0016_alert_index_trim

ROWS = [
    "INSERT INTO people (id, user_id, role, lang, tz, added_at)"
    " VALUES (1, 11, 'journalist', 'en', 'UTC', 0)",
    "INSERT INTO people (id, user_id, role, lang, tz, added_at)"
    " VALUES (2, 12, 'journalist', 'uk', 'UTC', 0)",
    "INSERT INTO sources (id, username, added_at) VALUES (1, 'demo', 0)",
    "INSERT INTO rules (id, query, compiled, created_at) VALUES (1, 'a', '{}', 0)",
    "INSERT INTO rules (id, query, compiled, created_at) VALUES (2, 'b', '{}', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (1, 1, 5, 1000, 'Перший.', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (2, 1, 6, 2000, 'Другий.', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (3, 1, 7, 3000, 'Третій.', 0)",
    # Person 1's story on rule 1 (alert 1), its follow-up (2) and an edit of that (3);
    # person 2's story on rule 2 (4).
    "INSERT INTO alerts (id, person_id, post_id, kind, rule_id, payload, status, created_at)"
    " VALUES (1, 1, 1, 'new', 1, '{}', 'sent', 0)",
    "INSERT INTO alerts (id, person_id, post_id, kind, rule_id, payload, status, created_at,"
    " reply_to_alert) VALUES (2, 1, 2, 'new', 1, '{}', 'sent', 0, 1)",
    "INSERT INTO alerts (id, person_id, post_id, kind, version, rule_id, payload, status,"
    " created_at, reply_to_alert) VALUES (3, 1, 2, 'edit', 2, 1, '{}', 'pending', 0, 2)",
    "INSERT INTO alerts (id, person_id, post_id, kind, rule_id, payload, status, created_at)"
    " VALUES (4, 2, 1, 'new', 2, '{}', 'sent', 0)",
]


def _old_sqlite(path: str) -> None:
    old_sqlite(path, SQLITE_BEFORE, ROWS)


async def _old_postgres(url: str) -> None:
    conn = await old_postgres(url, PG_BEFORE, ROWS)
    try:
        # Rows given their ids leave the sequence behind; the upgraded outbox queues more.
        await conn.execute("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 4)")
    finally:
        await conn.close()


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


async def test_an_old_outbox_keeps_its_threads_after_the_index_trim(db_target: str) -> None:
    pg = db_target.startswith("postgresql")
    if pg:
        await _old_postgres(db_target)
    else:
        _old_sqlite(db_target)
    store = await Store.open(db_target)
    try:
        indexes = await _indexes(store, pg)
        assert "alerts_thread" not in indexes
        assert "WHERE" in indexes["alerts_replies"].upper()
        follow = {"post_id": 3, "kind": "new", "version": 1, "payload": {}}
        five, six = await store.ingest.enqueue(
            [{**follow, "person_id": 1, "rule_id": 1}, {**follow, "person_id": 2, "rule_id": 2}],
            thread=Thread(1, 0, 3000),
        )
        replies = {
            a.id: a.reply_to_alert for p in (1, 2) for a in await store.alerts.for_person(p)
        }
        assert replies == {1: None, 2: 1, 3: 2, 4: None, five: 2, six: 4}
        # The story head goes (retention, a person removed): its replies let go of it.
        await store.db.execute("DELETE FROM alerts WHERE id = 2")
        replies = {a.id: a.reply_to_alert for a in await store.alerts.for_person(1)}
        assert replies == {1: None, 3: None, five: None}
        if pg:
            # The unlinking PostgreSQL runs for ON DELETE SET NULL, planned as it plans it.
            async with store.db.transaction():
                await store.db.execute("SET LOCAL enable_seqscan = off")
                plan = await store.db.fetchall(
                    "EXPLAIN UPDATE ONLY alerts SET reply_to_alert = NULL WHERE 7 = reply_to_alert"
                )
            assert "alerts_replies" in "\n".join(str(r[0]) for r in plan)
    finally:
        await store.close()


async def test_deleting_an_alert_finds_its_replies_through_the_partial_index(
    tmp_path: Path,
) -> None:
    """SQLite runs ON DELETE SET NULL's lookup through its planner, which may use a partial
    index only where it can prove `reply_to_alert IS NOT NULL`: counted in VM steps, deleting
    one alert of thousands costs far less than one step per alert (a scan)."""
    path = str(tmp_path / "w.db")
    await (await Store.open(path)).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        for row in ROWS[:8]:
            conn.execute(row)
        many = 6000
        # One transaction: in autocommit each row would be a commit of its own, waiting on
        # the disk (9 s of the test on a loaded machine).
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO alerts (person_id, post_id, kind, version, rule_id, payload, status,"
            " created_at, reply_to_alert) VALUES (?, ?, ?, ?, 1, '{}', 'sent', 0, ?)",
            [
                (
                    1 + n % 2,
                    1 + n % 3,
                    "edit" if n % 4 else "new",
                    n,
                    (n // 2 or None) if n % 4 else None,
                )
                for n in range(1, many + 1)
            ],
        )
        conn.execute("COMMIT")
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        conn.execute("BEGIN")
        conn.set_progress_handler(count, 1)
        conn.execute("DELETE FROM alerts WHERE id = ?", (many // 2,))
        conn.set_progress_handler(None, 1)
        conn.execute("ROLLBACK")
        assert 0 < steps < many
        sql, params = thread_heads(1, 0, 9, {(1, 1), (2, 1)})
        plan = " ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "posts_by_source_date" in plan and "alerts_by_post" in plan
    finally:
        conn.close()
