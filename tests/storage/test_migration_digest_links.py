"""An outbox from before the digest links (SQLite 0018, PostgreSQL 0014) upgraded with data
in it: the alerts folded into a digest learn which one, and its message once it was sent, so
an update of such a story replies to the digest and does not overtake one still to go out.
SQLite and PostgreSQL, each built at the old schema version with its own migrations."""

from __future__ import annotations

from storage.store import Store
from tests.storage.old_schema import old_postgres, old_sqlite

SQLITE_BEFORE = 17  # the last SQLite migration before 0018_digest_links
PG_BEFORE = 13  # the last PostgreSQL migration before 0014_digest_links

ROWS = [
    "INSERT INTO people (id, user_id, role, lang, tz, added_at)"
    " VALUES (1, 11, 'journalist', 'en', 'UTC', 0)",
    "INSERT INTO sources (id, username, added_at) VALUES (1, 'demo', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (1, 1, 5, 0, 'Перший текст.', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, stored_at)"
    " VALUES (2, 1, 6, 0, 'Другий текст.', 0)",
    # Yesterday's digest, sent as message 500, with story 1 in it.
    "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, status, created_at,"
    " tg_message_id) VALUES (10, 1, NULL, 'digest', 1, '{}', 'sent', 0, 500)",
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at, last_error)"
    " VALUES (1, 1, 1, 'new', '{}', 'sent', 0, 'delivered in digest alert 10')",
    # This morning's digest, not sent yet, with story 2 in it, and an update of story 2.
    "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, status, created_at)"
    " VALUES (11, 1, NULL, 'digest', 2, '{}', 'pending', 0)",
    "INSERT INTO alerts (id, person_id, post_id, kind, payload, status, created_at, last_error)"
    " VALUES (2, 1, 2, 'new', '{}', 'sent', 0, 'delivered in digest alert 11')",
    "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, status, created_at,"
    " reply_to_alert) VALUES (12, 1, 2, 'edit', 2, '{}', 'pending', 0, 2)",
    # An alert that failed for its own reason keeps no link.
    "INSERT INTO alerts (id, person_id, post_id, kind, version, payload, status, created_at,"
    " last_error) VALUES (13, 1, 1, 'edit', 3, '{}', 'failed', 0, 'delivered in digest alert x')",
]


def _old_sqlite(path: str) -> None:
    old_sqlite(path, SQLITE_BEFORE, ROWS)


async def _old_postgres(url: str) -> None:
    await (await old_postgres(url, PG_BEFORE, ROWS)).close()


async def test_digested_alerts_of_an_old_outbox_link_to_their_digest(db_target: str) -> None:
    if db_target.startswith("postgresql"):
        await _old_postgres(db_target)
    else:
        _old_sqlite(db_target)
    store = await Store.open(db_target)
    try:
        first = await store.alerts.get(1)
        second = await store.alerts.get(2)
        failed = await store.alerts.get(13)
        assert first is not None and second is not None and failed is not None
        # Story 1's updates reply to the digest message it went out in.
        assert (first.tg_message_id, first.payload) == (500, {})
        # Story 2's update waits for this morning's digest: the digest goes first.
        assert second.tg_message_id is None
        due = [a.id for a in await store.alerts.due()]
        assert due == [11]
        await store.alerts.mark_sent(11, 501, digest=True)
        assert [a.id for a in await store.alerts.due()] == [12]
        second = await store.alerts.get(2)
        assert second is not None and second.tg_message_id == 501
        assert failed.tg_message_id is None
    finally:
        await store.close()
