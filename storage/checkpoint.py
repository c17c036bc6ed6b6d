"""WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the write-ahead log past 1,000
pages: that commit copies the pages back into the database file and syncs the log and the file
(two fsyncs, 4-8 ms here), while the post waits. A live post writes ~22 pages, so one post in
~45 paid for it: the live path's p99 (bench/import_search.py).

Here the writer's own checkpoint is moved out of the way (`PRAGMA wal_autocheckpoint` raised to
BACKSTOP_FRAMES) and a thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
every ~TARGET_FRAMES frames of log: PASSIVE takes no lock a writer needs, so commits go on while
it copies. When every frame is copied the next commit starts the log again from the beginning.

What keeps the log bounded:
- a writer that never pauses (a bulk import) can outrun PASSIVE, which then never finds the log
  fully copied: the writer's own checkpoint at BACKSTOP_FRAMES finishes the little that is left
  in its commit, so the log restarts at least that often, but for the commits made while a copy
  of this thread holds the checkpoint lock (the backstop then waits for the next commit; a copy
  whose fsyncs stall on a loaded disk for 100 ms let a test's writer add ~1,200 frames);
- after QUIET_SECONDS without a commit the thread runs RESTART: every frame copied, the next
  commit writes the log from its beginning again (over the old frames: cheaper than growing
  the file, so the file is not emptied here);
- the writer's `PRAGMA journal_size_limit` (WAL_SIZE_LIMIT) cuts a log file that a long reader
  let grow back to that size when the log starts again;
- closing runs TRUNCATE, and SQLite deletes the log when its last connection closes.
A reader that keeps one read transaction open for ever pins the log, with or without this
thread: no checkpoint may copy past a snapshot a reader still uses. Ours keep none open.

A failed checkpoint is logged and counted, never raised: the data is safe in the log, and the
next one (or the writer's backstop) tries again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

TARGET_FRAMES = 1_000  # SQLite's own auto-checkpoint threshold: ~4 MB of log between copies
BACKSTOP_FRAMES = 10_000  # the writer checkpoints in its commit past this many (~40 MB)
QUIET_SECONDS = 5.0  # no commit for this long: copy everything, the log starts again
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes of log file kept when the log starts again

Connect = Callable[[str], sqlite3.Connection]


def _connect(path: str) -> sqlite3.Connection:
    # Opening may wait on the writer a moment (it may be changing the journal mode); the
    # checkpoints themselves never wait (busy_timeout 0) but where ESCALATE_WAIT_MS says.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # Per connection; the sync at the end of a checkpoint is what lets the log start
        # again without risking the database on a power cut.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=0")
    except BaseException:
        conn.close()  # an open handle would keep SQLite from removing the log on close
        raise
    return conn


def log_generation(path: str) -> bytes | None:
    """The write-ahead log header's checkpoint sequence number, which changes each time the
    log starts again from its beginning (bytes 12-15 of the -wal file, SQLite's file format);
    None without a log."""
    try:
        with open(f"{path}-wal", "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    return head[12:16] if len(head) == 16 else None


@dataclass
class CheckpointStats:
    runs: int = 0  # checkpoints run (any mode)
    complete: int = 0  # ... that found every frame of the log copied
    busy: int = 0  # ... that could not finish (a reader, the writer, another checkpoint)
    failures: int = 0  # ... that raised (or the connection could not be opened)
    yielded: int = 0  # times the log was past the backstop: the writer's own turn
    log_frames: int = 0  # frames in the log after the last one
    max_log_frames: int = 0  # the most seen


class Checkpointer:
    """A thread with its own connection to `path` copying the write-ahead log back into the
    database file. `committed()` is the writer's side: called after each commit, cheap."""

    def __init__(
        self,
        path: str,
        *,
        target: int = TARGET_FRAMES,
        backstop: int = BACKSTOP_FRAMES,
        quiet: float = QUIET_SECONDS,
        connect: Connect = _connect,
    ) -> None:
        self.path = path
        self.target = target
        self.backstop = backstop  # the writer's wal_autocheckpoint: past it, make the log restart
        self.quiet = quiet
        self.stats = CheckpointStats()
        self._connect = connect
        self._wake = threading.Event()
        self._stopping = False
        self._commits = 0  # written by the writer's side only
        self._last_commit = time.monotonic()
        self._due = 1  # commits after which to look: the first one measures pages per commit
        self._seen = 0  # commits when we last looked
        self._per_commit = 0.0  # frames per commit, measured
        self._failing = False  # the last checkpoint raised: say so once, not at every try
        self._rest_until = 0.0  # monotonic time before which the thread leaves the lock be
        self._generation: bytes | None = None  # the log's header at the last look
        self._drained = True  # the last look copied the whole log
        self._thread = threading.Thread(target=self._run, name="wirewatch-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def committed(self) -> None:
        self._commits += 1
        self._last_commit = time.monotonic()
        if self._commits >= self._due:
            self._wake.set()

    def close(self) -> None:
        """Stop the thread after a last TRUNCATE (if this process wrote anything). Blocks until
        it has finished: call it from a worker thread, after the writer's connection closed."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                nudged = self._wake.wait(self.quiet)
                self._wake.clear()
                mode: str | None = None
                if self._stopping:
                    mode = "TRUNCATE" if self._commits else None
                elif nudged:
                    mode = "PASSIVE"
                elif time.monotonic() - self._last_commit >= self.quiet and (
                    self._commits != self._seen or self.stats.log_frames
                ):
                    mode = "RESTART"
                if mode == "PASSIVE" and (rest := self._rest_until - time.monotonic()) > 0:
                    time.sleep(rest)
                if mode is not None:
                    conn = conn or self._open()
                    if conn is not None:
                        began = time.monotonic()
                        self._checkpoint(conn, mode)
                        self._rest(time.monotonic() - began)
                if self._stopping:
                    return
        finally:
            if conn is not None:
                conn.close()

    def _open(self) -> sqlite3.Connection | None:
        try:
            conn = self._connect(self.path)
        except sqlite3.Error as exc:
            # Tried again at the next nudge; meanwhile the writer's backstop checkpoints alone.
            self._failed(f"cannot open {self.path} for checkpoints: {exc}")
            return None
        return conn

    def _failed(self, message: str) -> None:
        self.stats.failures += 1
        log.log(logging.DEBUG if self._failing else logging.WARNING, message)
        self._failing = True
        # Try again after about `target` frames, as if each commit wrote one at least.
        self._next(self._commits, min(self._per_commit, 1.0) or 1.0)

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        commits = self._commits
        stats = self.stats
        stats.runs += 1
        generation = log_generation(self.path)
        try:
            busy, frames, copied = self._pragma(conn, mode)
        except sqlite3.Error as exc:
            self._failed(f"checkpoint ({mode}) of {self.path} failed: {exc}")
            return
        if self._failing:
            log.warning("checkpoints of %s work again", self.path)
            self._failing = False
        if busy or copied < frames:
            stats.busy += 1
        else:
            stats.complete += 1
        # Frames added since the last look: all of the log's, if it started again meanwhile
        # (its header says so; it may have grown past its old length since). That is exact
        # when the last look copied everything (the writer's next commit restarts the log). A
        # restart nobody here asked for (the writer's backstop, another process) leaves only
        # a lower bound, which must not lower the estimate: the thread would then look ever
        # more rarely through a long import.
        restarted = frames < stats.log_frames or generation != self._generation
        grew = frames if restarted else frames - stats.log_frames
        done = commits - self._seen
        per_commit = grew / done if done > 0 and grew > 0 else self._per_commit
        if restarted and not self._drained:
            per_commit = max(per_commit, self._per_commit)
        self._drained = not busy and copied >= frames
        stats.max_log_frames = max(stats.max_log_frames, frames)
        # RESTART and TRUNCATE that were not busy leave nothing for the next commit to keep.
        stats.log_frames = 0 if mode != "PASSIVE" and not busy else frames
        # The header read before the copy dates `frames`. The writer's next commit starts the
        # log again once everything is copied, maybe before this thread has run on (it waits
        # for the GIL): then the next look counts that new log from its first frame.
        self._generation = log_generation(self.path)
        if self._generation != generation:
            stats.log_frames = 0
        self._next(commits, per_commit)

    def _rest(self, spent: float) -> None:
        """Leave the checkpoint lock free at least as long as we held it. The writer's own
        checkpoint (at the backstop) needs it: a writer that never pauses outruns PASSIVE,
        whose copies then never finish before the next commit, so the log never starts again;
        only a checkpoint between two commits of the writer itself can do that. Past the
        backstop the thread stands back longer and lets it."""
        if self.stats.log_frames >= self.backstop:
            self.stats.yielded += 1
            spent *= 4
        self._rest_until = time.monotonic() + spent

    @staticmethod
    def _pragma(conn: sqlite3.Connection, mode: str) -> tuple[int, int, int]:
        row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        busy, frames, copied = (int(v) for v in row)
        if frames < 0:  # not in WAL mode (someone changed the journal mode): nothing to do
            return busy, 0, 0
        return busy, frames, copied

    def _next(self, commits: int, per_commit: float) -> None:
        self._seen = commits
        self._per_commit = per_commit
        step = int(self.target / per_commit) if per_commit > 0 else 1
        self._due = commits + max(1, step)
