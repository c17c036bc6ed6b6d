"""What the quiet-hours release job costs each minute: work for the people with something
held, nothing for everyone else. Counted as the database sees it (SQLite's own trace of the
statements it runs; on PostgreSQL, asyncpg's log of what it sends), on both back ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from bot.delivery.digest import release_quiet
from storage.models import Person
from storage.store import Store


@contextlib.asynccontextmanager
async def _statements(store: Store) -> AsyncIterator[list[str]]:
    """Every statement the database runs inside the block, BEGIN and COMMIT included."""
    seen: list[str] = []
    db = store.db
    pool = getattr(db, "pool", None)
    if pool is None:
        raw = db.conn._conn  # type: ignore[union-attr]
        raw.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            raw.set_trace_callback(None)
        return

    reset: list[str] = []

    def log(record: object) -> None:
        query = str(getattr(record, "query", ""))
        if query not in reset:  # the pool's own clean-up as a connection comes back to it
            seen.append(query)

    # One connection in the pool (the job runs one statement at a time), so every statement
    # passes through the one the log is on; the size checks say so. asyncpg keeps a
    # connection's query loggers across its returns to the pool.
    assert pool.get_size() == 1
    async with pool.acquire() as conn:
        reset.append(conn.get_reset_query())
        conn.add_query_logger(log)
    try:
        yield seen
    finally:
        async with pool.acquire() as conn:
            conn.remove_query_logger(log)
        assert pool.get_size() == 1


def _writes(seen: list[str]) -> list[str]:
    """The statements that take the write lock or change rows."""
    return [
        s for s in seen if s.lstrip().upper().startswith(("BEGIN", "INSERT", "UPDATE", "DELETE"))
    ]


async def _people(store: Store, n: int, *, first: int, ended: datetime) -> list[Person]:
    """`n` reachable journalists whose quiet hours ended a minute before `ended`."""
    out = []
    for i in range(n):
        person = await store.people.add(role="journalist", user_id=first + i)
        await store.people.set_pref(person.id, "tz", "UTC")
        await store.people.set_pref(
            person.id, "quiet_from", (ended - timedelta(hours=3)).strftime("%H:%M")
        )
        await store.people.set_pref(
            person.id, "quiet_to", (ended - timedelta(minutes=1)).strftime("%H:%M")
        )
        out.append(person)
    return out


async def _hold_one(store: Store, person: Person, version: int) -> int:
    alert_id = await store.alerts.enqueue(
        person_id=person.id,
        post_id=None,
        kind="new",
        version=version,
        payload={"messages": [{"html": "Held for the night.", "buttons": []}]},
        held=True,
    )
    assert alert_id is not None
    return alert_id


async def test_a_minute_with_nothing_held_writes_nothing(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        now = datetime.now(UTC)
        await _people(store, 12, first=9100, ended=now)
        async with _statements(store) as seen:
            assert await release_quiet(store, at=now) == 0
        # Not one write transaction per reachable person: no write at all, and the reads do
        # not grow with the desk (one look finds nobody holding anything).
        assert _writes(seen) == []
        assert len(seen) <= 2, seen
    finally:
        await store.close()


async def test_a_minute_writes_for_whoever_holds_and_no_one_else(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        now = datetime.now(UTC)
        first, *_ = await _people(store, 3, first=9200, ended=now)
        held = await _hold_one(store, first, 1)
        async with _statements(store) as small:
            assert await release_quiet(store, at=now) == 1
        assert (await store.alerts.get(held)).status == "pending"  # type: ignore[union-attr]

        # Ten times the desk, the same one person holding one alert: the same work.
        await _people(store, 30, first=9300, ended=now)
        again = await _hold_one(store, first, 2)
        async with _statements(store) as large:
            assert await release_quiet(store, at=now) == 1
        assert (await store.alerts.get(again)).status == "pending"  # type: ignore[union-attr]
        assert len(_writes(large)) == len(_writes(small)) > 0
        assert len(large) == len(small)
    finally:
        await store.close()
