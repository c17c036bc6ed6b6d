"""WAL checkpoints off the commit path (storage/checkpoint.py): the writer's commits do not copy
the log back, a thread does; the log stays bounded, a failing checkpoint is only logged, and a
closed database is one clean file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import storage.checkpoint as checkpoint_module
import storage.db as db_module
from storage.checkpoint import Checkpointer
from storage.db import Database

ROW = 3000  # bytes of blob a row: about one page, so one commit writes a few frames
BOUND = 150  # the writer's backstop in the test of the log's bound, in frames


async def _open(path: Path) -> Database:
    db = await Database.open(path, migrate=False)
    await db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB)")
    return db


async def _write(db: Database, n: int) -> None:
    for _ in range(n):
        await db.execute("INSERT INTO t (b) VALUES (randomblob(?))", (ROW,))


def _wal(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def _wait(condition: object, limit: float = 10.0) -> None:
    """Poll a condition the checkpoint thread makes true (bounded: fails after `limit`)."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the checkpoint thread did not get there"
        time.sleep(0.01)


def _log_frames(path: Path) -> int:
    """Frames in the log now: mxFrame of the wal-index header, the first field SQLite reads
    after a commit (offset 16 of the -shm file, native byte order; SQLite's "WAL-mode File
    Format" for the unix VFS). The -wal file's size says nothing once the log restarts."""
    with Path(f"{path}-shm").open("rb") as f:
        f.seek(16)
        return int.from_bytes(f.read(4), sys.byteorder)


def _log_generation(path: Path) -> bytes:
    """The WAL header's checkpoint sequence number: it changes each time the log starts again
    from its beginning (SQLite's file format, bytes 12-15 of the -wal file)."""
    with Path(f"{path}-wal").open("rb") as f:
        return f.read(16)[12:16]


class _Copies:
    """Counts the thread's checkpoints begun and ended, so the test knows which of its commits
    ran while a copy held SQLite's checkpoint lock (from the thread's side: no timing)."""

    def __init__(self) -> None:
        self.begun = 0  # written by the checkpoint thread only
        self.ended = 0

    def watch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        pragma = Checkpointer._pragma

        def counted(conn: sqlite3.Connection, mode: str) -> tuple[int, int, int]:
            self.begun += 1
            try:
                return pragma(conn, mode)
            finally:
                self.ended += 1

        monkeypatch.setattr(Checkpointer, "_pragma", staticmethod(counted))

    def state(self) -> tuple[int, int]:
        return self.begun, self.ended


async def test_commits_leave_checkpoints_to_the_thread_and_the_log_keeps_starting_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small figures so that a few hundred commits cross the bound several times.
    monkeypatch.setattr(db_module, "BACKSTOP_FRAMES", BOUND)
    copies = _Copies()
    copies.watch(monkeypatch)
    path = tmp_path / "w.db"
    db = await _open(path)
    try:
        row = await db.fetchone("PRAGMA wal_autocheckpoint")
        assert row is not None and row[0] == BOUND  # the writer checkpoints only past it
        assert db.checkpointer is not None
        db.checkpointer.target = 40
        # Until the log has started again five times: a log without checkpoints never does.
        # How many commits that takes depends on the machine (a checkpoint's fsyncs may stall
        # while the writer goes on), so the work is bounded, not the time.
        restarts, commits, frames = 0, 0, _log_frames(path)
        copying = False  # a copy of the thread ran during the last commit
        while restarts < 5 and commits < 5_000:
            before = copies.state()
            await _write(db, 1)
            after = copies.state()
            commits += 1
            last, frames = frames, _log_frames(path)
            # From before the commit's BEGIN to after its COMMIT (and the backstop's
            # checkpoint in it): had the thread the checkpoint lock at any moment?
            copied = not before[0] == before[1] == after[0]
            if frames <= last:
                restarts += 1  # a commit adds frames, unless it wrote the log from its start
            elif last >= BOUND:
                # The log was past the bound and still grows. The writer's backstop copies
                # the whole log in a commit that crosses the bound, and the next commit then
                # starts the log again: only a copy of the thread holding the checkpoint lock
                # (its fsyncs may stall for long on a loaded disk) makes the backstop wait,
                # and the writer goes on meanwhile instead of waiting on the fsyncs.
                assert copying or copied, f"{frames} frames in the log, no copy in the way"
            copying = copied
        assert restarts == 5, f"the log started again {restarts} times in {commits} commits"
        stats = db.checkpointer.stats
        # The thread copied, and nothing failed. A thread starved for the whole loop may not
        # have finished its first copy yet: that one is waited for.
        _wait(lambda: stats.complete > 0)
        assert stats.failures == 0
        count = await db.fetchone("SELECT COUNT(*) FROM t")
        assert count is not None and count[0] == commits
    finally:
        await db.close()


class _Looks:
    """A writer without checkpoints of its own and a Checkpointer that is not started: the
    test runs the thread's looks (`look()`) between the writer's commits, in its own order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = sqlite3.connect(path, isolation_level=None)
        self.writer.execute("PRAGMA journal_mode=WAL")
        self.writer.execute("PRAGMA wal_autocheckpoint=0")
        self.writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
        self.thread = Checkpointer(str(path), target=1_000)
        self.conn = checkpoint_module._connect(str(path))

    def commit(self, n: int) -> None:
        for _ in range(n):
            self.writer.execute("INSERT INTO t (b) VALUES (randomblob(?))", (ROW,))
            self.thread.committed()

    def look(self) -> None:
        self.thread._checkpoint(self.conn, "PASSIVE")

    def close(self) -> None:
        self.conn.close()
        self.writer.close()


def test_a_restart_the_thread_did_not_see_does_not_make_it_look_more_rarely(
    tmp_path: Path,
) -> None:
    """The thread times its next look by the frames each commit adds. A log restarted by
    someone else (the writer's backstop, another process) and grown past its old length
    since hides part of that growth: the estimate must not fall because of it."""
    path = tmp_path / "w.db"
    looks = _Looks(path)
    thread, commit = looks.thread, looks.commit

    try:
        commit(10)
        looks.look()  # everything copied: the log restarts, seen
        # A reader's snapshot keeps the next look from copying the whole log.
        reader = sqlite3.connect(path, isolation_level=None)
        commit(10)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM t").fetchone()
        commit(10)
        looks.look()
        reader.execute("COMMIT")
        reader.close()
        # The log restarted at the first of those 20 commits, as the first look let it.
        rate = _log_frames(path) / 20
        assert thread._per_commit == pytest.approx(rate)
        # More commits, then the writer's own checkpoint restarts the log, unseen, and it
        # grows past its old length again, at the same rate all along.
        commit(30)
        looks.writer.execute("PRAGMA wal_checkpoint(RESTART)")
        commit(60)
        assert _log_frames(path) == pytest.approx(60 * rate, rel=0.1)
        looks.look()
        assert thread._per_commit >= 0.9 * rate, (thread._per_commit, rate)
    finally:
        looks.close()


def test_a_restart_right_after_the_thread_copied_everything_is_counted_from_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's next commit starts the log again once a look copied all of it, and may do
    so before the thread reads the log's header (the thread waiting for the GIL after the
    copy). The frames the look counted were the old log's: the next look must count the new
    log from its first frame, or it takes half the rate (as here) and looks ever more rarely."""
    path = tmp_path / "w.db"
    looks = _Looks(path)
    thread, commit = looks.thread, looks.commit

    try:
        commit(10)
        looks.look()
        commit(10)
        looks.look()
        rate = thread._per_commit
        assert rate == pytest.approx(_log_frames(path) / 10)
        commit(10)
        pragma = Checkpointer._pragma

        def copied_then_the_writer_went_on(c: sqlite3.Connection, mode: str) -> Any:
            out = pragma(c, mode)
            before = _log_generation(path)
            commit(1)  # everything was copied: this commit starts the log again
            assert _log_generation(path) != before
            return out

        with monkeypatch.context() as patch:
            patch.setattr(Checkpointer, "_pragma", staticmethod(copied_then_the_writer_went_on))
            looks.look()
        commit(19)  # the new log, 20 commits long, outgrows the old one (10 commits)
        assert _log_frames(path) == pytest.approx(20 * rate, rel=0.1)
        looks.look()
        assert thread._per_commit == pytest.approx(rate, rel=0.1)
    finally:
        looks.close()


def test_a_log_emptied_by_another_connection_is_a_restart_like_any_other(tmp_path: Path) -> None:
    """Another process's TRUNCATE leaves a log file without a header (or none at all): the
    next looks neither fail nor take a wrong rate from it."""
    path = tmp_path / "w.db"
    looks = _Looks(path)
    thread, commit = looks.thread, looks.commit
    other = sqlite3.connect(path, isolation_level=None)

    try:
        assert checkpoint_module.log_generation(str(tmp_path / "none.db")) is None
        commit(10)
        looks.look()
        commit(10)
        looks.look()
        rate = thread._per_commit
        commit(10)
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _wal(path) == 0 and checkpoint_module.log_generation(str(path)) is None
        looks.look()  # nothing written since: nothing to learn
        assert thread._per_commit == rate
        commit(10)
        looks.look()
        assert thread._per_commit == pytest.approx(rate, rel=0.1)
        assert thread.stats.failures == 0
    finally:
        other.close()
        looks.close()


async def test_without_the_thread_the_same_loop_grows_the_log(tmp_path: Path) -> None:
    """What the test above is worth: with no checkpoint at all the log never starts again."""
    path = tmp_path / "w.db"
    db = await _open(path)
    try:
        await db.fetchone("PRAGMA wal_autocheckpoint=0")
        # Stopped before the loop, not just told to wait: its first look (after the table's
        # commit) would otherwise race the first insert, and win when the writer is starved.
        assert db.checkpointer is not None
        await asyncio.to_thread(db.checkpointer.close)
        db.checkpointer = None
        await _write(db, 1)
        first = _log_generation(path)
        await _write(db, 300)
        assert _log_generation(path) == first
        assert _wal(path) > 300 * ROW
    finally:
        await db.close()


async def test_a_failing_checkpoint_is_logged_and_writes_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "w.db"
    db = await _open(path)
    assert db.checkpointer is not None
    old = db.checkpointer
    old.close()

    def read_only(p: str) -> sqlite3.Connection:
        # SQLite refuses to checkpoint through a read-only connection: a real failure.
        return sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=0, isolation_level=None)

    db.checkpointer = Checkpointer(str(path), target=20, connect=read_only)
    db.checkpointer.start()
    try:
        with caplog.at_level(logging.DEBUG, logger="storage.checkpoint"):

            def said() -> list[tuple[int, str]]:
                return [
                    (r.levelno, r.getMessage())
                    for r in list(caplog.records)
                    if r.name == "storage.checkpoint"
                ]

            def repeated() -> bool:
                return any(lv == logging.DEBUG and "failed" in m for lv, m in said())

            # The thread tries again after ~20 more commits: the writer goes on until a try
            # has failed again (a starved thread may look only once in the first 200).
            written = 0
            while written < 200 or (not repeated() and written < 5_000):
                await _write(db, 20)
                written += 20
            _wait(repeated)
        # Said once a run of failures, not at every try: a warning opens the run, each try
        # after it is at DEBUG. A try that passes ends the run ("work again"): a read-only
        # connection's checkpoint passes when nothing is left to copy (say, just after the
        # writer's own backstop), so a second run may open with a warning of its own.
        failing = False
        for level, message in said():
            if "work again" in message:
                failing = False
            elif "failed" in message:
                assert (level == logging.WARNING) == (not failing), message
                assert str(path) in message
                failing = True
        count = await db.fetchone("SELECT COUNT(*) FROM t")
        assert count is not None and count[0] == written
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT COUNT(*) FROM t").fetchone()[0] == written


async def test_closing_leaves_one_clean_file(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = await _open(path)
    await _write(db, 100)
    await db.close()
    assert not Path(f"{path}-wal").exists()  # every frame copied, the log removed
    # The file alone holds everything: opened read-only and immutable, no log is consulted.
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as alone:
        assert alone.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 100
        assert alone.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_closing_while_another_process_has_the_file_open_empties_the_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.db"
    other = sqlite3.connect(path)  # keeps the log from being removed: not the last connection
    try:
        db = await _open(path)
        await _write(db, 100)
        assert _wal(path) > 0
        await db.close()
        assert _wal(path) == 0  # TRUNCATE: copied and cut to nothing
        assert other.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 100
    finally:
        other.close()


async def test_after_a_quiet_spell_the_log_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = await _open(path)
    assert db.checkpointer is not None
    db.checkpointer.target = 10**9  # only the quiet spell checkpoints here
    db.checkpointer.quiet = 0.05
    try:
        await _write(db, 100)
        size = _wal(path)
        stats = db.checkpointer.stats
        _wait(lambda: stats.complete >= 1 and stats.log_frames == 0)
        await _write(db, 5)
        # The next commits wrote over the start of the old log instead of after its end.
        assert _wal(path) == size
        with contextlib.closing(sqlite3.connect(path)) as probe:
            _, frames, _ = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert 0 < frames < 30
    finally:
        await db.close()


async def test_a_second_process_writing_the_same_file(tmp_path: Path) -> None:
    """Two wirewatch processes (the service and a command) or a plain sqlite3 client on one
    file: each checkpoints as it can, nothing is lost and the file stays sound."""
    path = tmp_path / "w.db"
    db = await _open(path)
    second = await _open(path)  # another Database, as a CLI command would open it
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
        "for _ in range(200):\n"
        "    c.execute('INSERT INTO t (b) VALUES (randomblob(3000))')\n"
        "c.close()\n"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(path))
    try:
        for _ in range(20):
            await _write(db, 5)
            await _write(second, 5)
        assert await proc.wait() == 0
    finally:
        await second.close()
        await db.close()
    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 400
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not Path(f"{path}-wal").exists()


async def test_a_database_in_memory_has_no_thread() -> None:
    db = await Database.open(":memory:", migrate=False)
    try:
        assert db.checkpointer is None
    finally:
        await db.close()
