"""`Database.run(inline=True)`: a small plan runs on the event loop's thread when aiosqlite's
thread is idle (no hop there and back), and never beside that thread's work or in SQLite's
busy wait: a busy thread or another writer's lock sends it to the thread as before."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import storage.db as db_module
from storage.db import Database

LIMIT = 10.0  # seconds a bounded wait may take on a loaded machine before the test fails


@pytest.fixture(autouse=True)
def _no_stalls(monkeypatch: pytest.MonkeyPatch) -> None:
    # A loaded machine may pause a plan here for longer than a stall: only the stall test
    # below asks for that guard, so that the others do not depend on the machine's speed.
    monkeypatch.setattr(db_module, "INLINE_STALL_S", 3600.0)


async def _open(path: Path) -> Database:
    db = await Database.open(path, migrate=False)
    await db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    return db


async def _store(db: Database, plan: Callable[[sqlite3.Connection], int]) -> int:
    async with db.transaction(lazy=True):
        return await db.run(plan, inline=True)


def _insert(conn: sqlite3.Connection, value: str, seen: list[tuple[int, str]]) -> int:
    seen.append((threading.get_ident(), value))
    cur = conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
    conn.execute("COMMIT")
    return int(cur.lastrowid or 0)


async def _until(condition: object) -> None:
    """Yield to the loop until `condition()` (set by aiosqlite's thread) holds; bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIMIT
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "aiosqlite's thread never got there"
        await asyncio.sleep(0.005)


def _committed(path: Path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [str(r[0]) for r in other.execute("SELECT v FROM t ORDER BY id")]


async def test_an_idle_database_runs_the_plan_here_and_commits_it(tmp_path: Path) -> None:
    db = await _open(tmp_path / "d.db")
    seen: list[tuple[int, str]] = []
    try:
        async with db.transaction(lazy=True):
            await db.run(lambda c: _insert(c, "a", seen), inline=True)
        assert seen == [(threading.get_ident(), "a")]
        assert _committed(tmp_path / "d.db") == ["a"]
        # Not asked for: the thread, as before.
        async with db.transaction(lazy=True):
            await db.run(lambda c: _insert(c, "b", seen))
        assert seen[1][0] != threading.get_ident()
    finally:
        await db.close()
    assert _committed(tmp_path / "d.db") == ["a", "b"]


class _Busy:
    """Work that keeps aiosqlite's thread busy until released, and a plan that records when
    (and on which thread) it ran."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.started, self.release = threading.Event(), threading.Event()
        self.order: list[str] = []
        self.seen: list[tuple[int, str]] = []

    def slow(self, conn: sqlite3.Connection) -> None:
        self.started.set()
        self.release.wait(LIMIT)
        self.order.append("slow")

    def plan(self, conn: sqlite3.Connection) -> int:
        self.order.append("plan")
        return _insert(conn, self.value, self.seen)

    async def plan_waits_for_slow(self, db: Database) -> None:
        """The plan, asked for while `slow` still runs, runs after it, in the thread."""
        queued = asyncio.create_task(_store(db, self.plan))
        for _ in range(5):
            await asyncio.sleep(0)
        assert self.order == []  # neither here nor beside the thread's work
        self.release.set()
        await queued
        assert self.order == ["slow", "plan"]
        assert self.seen[0][0] != threading.get_ident()


async def test_a_busy_thread_gets_the_plan_after_its_own_work(tmp_path: Path) -> None:
    db = await _open(tmp_path / "d.db")
    busy = _Busy("x")
    try:
        slow = asyncio.create_task(db.run(busy.slow))
        await _until(busy.started.is_set)
        await busy.plan_waits_for_slow(db)
        await slow
    finally:
        busy.release.set()
        await db.close()
    assert _committed(tmp_path / "d.db") == ["x"]


async def test_work_still_running_after_its_caller_was_cancelled_keeps_the_thread_busy(
    tmp_path: Path,
) -> None:
    db = await _open(tmp_path / "d.db")
    busy = _Busy("y")
    try:
        slow = asyncio.create_task(db.run(busy.slow))
        await _until(busy.started.is_set)
        slow.cancel()  # the caller gives up; the thread is still inside `slow`
        await asyncio.gather(slow, return_exceptions=True)
        await busy.plan_waits_for_slow(db)
    finally:
        busy.release.set()
        await db.close()
    assert _committed(tmp_path / "d.db") == ["y"]


async def test_another_writers_lock_sends_the_plan_to_the_thread_not_into_a_busy_wait_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy wait here would hold the event loop until the timeout: make it endless, so that
    # only the other writer (below, in a thread that waits for this loop) can end it.
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 3_600_000)
    path = tmp_path / "d.db"
    db = await _open(path)
    seen: list[tuple[int, str]] = []
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    loop_alive = threading.Event()
    stuck: list[bool] = []

    def other_writer() -> None:
        # Commits once this loop says it still runs; gives up waiting after LIMIT, so that a
        # loop stuck in SQLite's busy wait fails the test instead of hanging it.
        stuck.append(not loop_alive.wait(LIMIT))
        other.execute("COMMIT")

    try:
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        other.execute("INSERT INTO t (v) VALUES ('other')")
        writer = threading.Thread(target=other_writer)
        writer.start()
        task = asyncio.create_task(_store(db, lambda c: _insert(c, "ours", seen)))
        for _ in range(5):
            await asyncio.sleep(0)
        loop_alive.set()
        await asyncio.wait_for(task, LIMIT)
        await asyncio.to_thread(writer.join, LIMIT)
        assert stuck == [False], "the event loop waited for the other writer's lock"
        assert seen[-1][0] != threading.get_ident()  # it went to the thread, which waited
    finally:
        loop_alive.set()
        other.close()
        await db.close()
    assert _committed(path) == ["other", "ours"]


async def test_a_failing_plan_here_rolls_back_with_its_transaction(tmp_path: Path) -> None:
    db = await _open(tmp_path / "d.db")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES ('half')")
        raise ValueError("bad post")

    try:
        try:
            async with db.transaction(lazy=True):
                await db.run(broken, inline=True)
        except ValueError:
            pass
        else:
            raise AssertionError("the plan's error was lost")
        seen: list[tuple[int, str]] = []
        async with db.transaction(lazy=True):
            await db.run(lambda c: _insert(c, "next", seen), inline=True)
    finally:
        await db.close()
    assert _committed(tmp_path / "d.db") == ["next"]


async def test_plans_run_here_in_a_loop_still_let_other_tasks_run(tmp_path: Path) -> None:
    # A catch-up stores post after post: with no hop to the thread, each store must still
    # yield to the loop, or the bot and the notifier would wait for the whole catch-up.
    db = await _open(tmp_path / "d.db")
    other_ran = asyncio.Event()
    seen: list[tuple[int, str]] = []
    asyncio.get_running_loop().call_soon(other_ran.set)
    try:
        stored = 0
        while not other_ran.is_set() and stored < 1_000:
            await _store(db, lambda c: _insert(c, "p", seen))
            stored += 1
        assert other_ran.is_set(), f"{stored} plans in a row never let another task run"
        assert all(thread == threading.get_ident() for thread, _ in seen)
    finally:
        await db.close()


async def test_a_plan_that_stalled_the_loop_sends_the_next_ones_to_the_thread_for_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A commit stuck on a slow disk holds up every task of the loop while it runs here; in
    # aiosqlite's thread it holds up only the database.
    monkeypatch.setattr(db_module, "INLINE_STALL_S", 0.02)
    monkeypatch.setattr(db_module, "INLINE_PAUSE_S", 3600.0)
    db = await _open(tmp_path / "d.db")
    seen: list[tuple[int, str]] = []

    def stuck(conn: sqlite3.Connection) -> int:
        time.sleep(0.05)  # the disk, for a commit: the guard only looks at the time taken
        return _insert(conn, "stuck", seen)

    try:
        with caplog.at_level(logging.WARNING, logger="storage.db"):
            await _store(db, stuck)
        assert "writes go through the database thread" in caplog.text
        await _store(db, lambda c: _insert(c, "after", seen))
        here = threading.get_ident()
        assert [(thread == here, v) for thread, v in seen] == [(True, "stuck"), (False, "after")]
        # Once the pause is over, plans run here again.
        monkeypatch.setattr(db, "_inline_off_until", 0.0)
        await _store(db, lambda c: _insert(c, "later", seen))
        assert seen[-1] == (here, "later")
    finally:
        await db.close()
    assert _committed(tmp_path / "d.db") == ["stuck", "after", "later"]


async def test_a_plan_that_stalled_the_loop_and_then_failed_still_sends_the_next_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk that stalls a commit is the one that then fails it (a full disk, an I/O
    error): the loop was held up all the same, and the next plans must not run here."""
    monkeypatch.setattr(db_module, "INLINE_STALL_S", 0.02)
    monkeypatch.setattr(db_module, "INLINE_PAUSE_S", 3600.0)
    db = await _open(tmp_path / "d.db")
    seen: list[tuple[int, str]] = []

    def stuck_then_failed(conn: sqlite3.Connection) -> int:
        seen.append((threading.get_ident(), "failed"))
        conn.execute("INSERT INTO t (v) VALUES ('failed')")
        time.sleep(0.05)  # the disk: the guard only looks at the time taken
        raise sqlite3.OperationalError("disk I/O error")

    try:
        with (
            caplog.at_level(logging.WARNING, logger="storage.db"),
            pytest.raises(sqlite3.OperationalError),
        ):
            await _store(db, stuck_then_failed)
        assert "writes go through the database thread" in caplog.text
        await _store(db, lambda c: _insert(c, "after", seen))
        here = threading.get_ident()
        assert [(thread == here, v) for thread, v in seen] == [(True, "failed"), (False, "after")]
    finally:
        await db.close()
    assert _committed(tmp_path / "d.db") == ["after"]  # the failed plan's write rolled back
