"""An import analysed by a worker process (bot/ingest/analyst.py) stores what the in-process
import stores; a worker that dies or an import that is cancelled leaves whole chunks only, no
process behind, and an import that resumes.

Each test starts at most one worker (~0.5 s of CPU on the other core); the imports are small."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.analyst as analyst
from bot.ingest.analyst import AnalysisWorkerError, Analyst
from bot.ingest.pipeline import Pipeline
from bot.ingest.steps import new_post_from
from bot.matching import index_fields, parse_rule, rule_to_json
from storage.records import Event, Post
from storage.store import Store
from tests.ingest.test_round_trips import _dump, _events, fts_consistent

T0 = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
SENTENCES = (
    "Уряд ухвалив постанову про відновлення енергосистеми.",
    "Правительство одобрило план восстановления подстанций.",
    "The ministry published the repair schedule for Kharkiv.",
)
WORDS = " ".join(SENTENCES).split()


def archive(n: int, *, first: int = 100) -> list[Post]:
    """`n` posts in two channels, texts in three languages, some links and forwards."""
    out = []
    for i in range(n):
        k = first + i
        words = [WORDS[(k * 7 + j * 3) % len(WORDS)] for j in range(5 + k % 9)]
        out.append(
            Post(
                channel="grid_operator" if k % 3 else "energy_ministry",
                message_id=k,
                date=T0 + timedelta(minutes=k),
                text=" ".join(words) + ("" if k % 5 else f" https://example.org/n/{k}"),
                forward_from="kyiv_admin" if k % 11 == 0 else None,
                links=(f"https://example.org/n/{k}",) if k % 5 == 0 else (),
            )
        )
    return out


def running(pid: int) -> bool:
    """Whether the process runs: not gone, nor a zombie left for its parent's event loop."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_worker_import_stores_the_same_rows_as_in_process(
    new_db: Callable[[], str],
) -> None:
    """Both back ends: repeats, an edit, an album, a deletion, a forward and 60 plain posts,
    8 events a chunk (the worker runs chunks ahead of the writer)."""
    events: list[Event] = [*_events(), *archive(60)]
    dumps = []
    for worker in (False, True):
        target = new_db()
        store = await Store.open(target)
        try:
            pipe = Pipeline(store, alert=False)
            result = await pipe.handle_batch(events, chunk=8, worker=worker)
            assert pipe.worker_stats.started is worker
            if worker:
                # Every plain post of every chunk was analysed by the worker.
                plain = [e for e in events if isinstance(e, Post) and e.grouped_id is None]
                assert pipe.worker_stats.texts == len(plain)
                assert pipe.worker_stats.peak_rss_mib > 0
            dumps.append((result, await _dump(store)))
            if not target.startswith("postgresql"):
                await fts_consistent(store)
        finally:
            await store.close()
    (in_process, rows), (by_worker, worker_rows) = dumps
    # Two versions: the edit, and the album's caption gone with its first photo (the deletion
    # removes that photo only; bot/ingest/deletions.py).
    assert in_process == by_worker and in_process.stored == 66 and in_process.edited == 2
    assert rows["posts"] and rows["albums"] and rows == worker_rows


async def test_small_imports_and_matched_imports_stay_in_process(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "small.db")
    try:
        quiet = Pipeline(store, alert=False)
        await quiet.handle_batch(archive(30))
        assert not quiet.worker_stats.started  # far below WORKER_FROM
        await store.people.add(role="journalist", user_id=5)
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        loud = Pipeline(store, defer_drafts=True)
        # Matching needs every post's analysis here: no worker, even when asked for one.
        result = await loud.handle_batch(archive(30, first=500), worker=True)
        assert not loud.worker_stats.started and result.alerts > 0
    finally:
        await store.close()


def _killing(events: list[Post], at: int, pipe: Pipeline) -> Iterator[Post]:
    """The events; before the `at`-th, the worker process is killed (SIGKILL)."""
    for n, ev in enumerate(events):
        if n == at:
            assert pipe.worker_stats.pid is not None
            os.kill(pipe.worker_stats.pid, signal.SIGKILL)
        yield ev


async def _resumed_equals_clean(tmp_path: Path, store: Store, events: list[Post]) -> None:
    again = await Pipeline(store, alert=False).handle_batch(events, chunk=10, worker=False)
    assert await store.posts.count() == len(events)
    assert again.stored + again.duplicates == len(events)
    await fts_consistent(store)
    clean = await Store.open(tmp_path / "clean.db")
    try:
        await Pipeline(clean, alert=False).handle_batch(events, chunk=10, worker=False)
        assert await _dump(clean) == await _dump(store)
    finally:
        await clean.close()


async def test_a_worker_that_dies_fails_the_import_clearly_and_it_resumes(
    tmp_path: Path,
) -> None:
    events = archive(120)
    store = await Store.open(tmp_path / "killed.db")
    try:
        pipe = Pipeline(store, alert=False)
        with pytest.raises(AnalysisWorkerError, match=r"stopped \(exit code -9\)"):
            await pipe.handle_batch(_killing(events, 60, pipe), chunk=10, worker=True)
        assert pipe.worker_stats.pid is not None and not pid_alive(pipe.worker_stats.pid)
        stored = await store.posts.count()
        # Whole chunks only: the one being written when the worker died included.
        assert 0 < stored < len(events) and stored % 10 == 0
        await _resumed_equals_clean(tmp_path, store, events)
    finally:
        await store.close()


async def test_a_cancelled_import_ends_its_worker(tmp_path: Path) -> None:
    """Ctrl-C in `wirewatch import` cancels the import's task: the worker goes with it."""
    events = archive(120)
    store = await Store.open(tmp_path / "cancelled.db")
    try:
        pipe = Pipeline(store, alert=False)
        written = asyncio.Event()

        def progress(n: int) -> None:
            written.set()

        task = asyncio.create_task(
            pipe.handle_batch(events, chunk=10, worker=True, progress=progress)
        )
        await written.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pipe.worker_stats.pid is not None and not pid_alive(pipe.worker_stats.pid)
        assert (await store.posts.count()) % 10 == 0
        await _resumed_equals_clean(tmp_path, store, events)
    finally:
        await store.close()


async def test_an_import_over_before_its_worker_is_ready_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import WORKER_FROM long starts a worker but does not wait for it: what is read
    before the worker is ready is analysed in-process (here all of it)."""
    monkeypatch.setattr(analyst, "WORKER_FROM", 50)
    store = await Store.open(tmp_path / "auto.db")
    try:
        pipe = Pipeline(store, alert=False)
        result = await pipe.handle_batch(archive(80), chunk=10)
        stats: Any = pipe.worker_stats
        assert result.stored == 80 and stats.started
        assert stats.pid is not None and not pid_alive(stats.pid)
    finally:
        await store.close()


async def test_one_core_never_starts_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyst, "WORKER_FROM", 1)
    monkeypatch.setattr(analyst.os, "cpu_count", lambda: 1)
    store = await Store.open(tmp_path / "one.db")
    try:
        pipe = Pipeline(store, alert=False)
        assert (await pipe.handle_batch(archive(20), chunk=10)).stored == 20
        assert not pipe.worker_stats.started
    finally:
        await store.close()


async def test_a_worker_that_never_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Asked for, it is an error before anything is stored; as a help to a big import, the
    import goes on in-process and says so."""
    monkeypatch.setattr(analyst, "WORKER_MODULE", "bot.ingest.no_such_worker")
    store = await Store.open(tmp_path / "never.db")
    try:
        with pytest.raises(AnalysisWorkerError, match=r"stopped \(exit code 1\)"):
            await Pipeline(store, alert=False).handle_batch(archive(20), worker=True)
        assert await store.posts.count() == 0
        monkeypatch.setattr(analyst, "WORKER_FROM", 1)
        events = archive(30)
        pipe = Pipeline(store, alert=False)

        def after_it_failed() -> Iterator[Post]:
            yield events[0]
            # Read in the second chunk: the worker has been started; let it fail first.
            pid = pipe.worker_stats.pid
            assert pid is not None
            for _ in range(1000):
                if not running(pid):
                    break
                time.sleep(0.01)
            yield from events[1:]

        with caplog.at_level(logging.WARNING, logger="bot.ingest.analyst"):
            result = await pipe.handle_batch(after_it_failed(), chunk=1)
        assert result.stored == len(events) and pipe.worker_stats.started
        assert pipe.worker_stats.texts == 0
        assert "the import analysed in-process" in caplog.text
    finally:
        await store.close()


async def test_rules_that_appear_during_a_worker_import_are_matched(tmp_path: Path) -> None:
    """The worker is used with alerts on only while there are no rules; one added meanwhile
    (the pipeline re-reads them when storage says they changed) finds posts the worker
    prepared without an analysis: they are analysed here then, and alert."""
    store = await Store.open(tmp_path / "rules.db")
    try:
        await store.people.add(role="journalist", user_id=9)
        pipe = Pipeline(store, defer_drafts=True)
        await pipe.refresh_rules()
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        await pipe.refresh_rules()
        posts = archive(12)
        prepared = {id(p): (None, new_post_from(p, *index_fields(p.text))) for p in posts}
        async with store.transaction():
            result = await pipe._bulk(posts, prepared)
        assert result.stored == 12 and result.alerts > 0
    finally:
        await store.close()


async def test_chunks_handed_to_a_dead_worker_are_not_reported_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the worker died, chunks still handed to it fail at once; the import stops at the
    first and the others must not each be logged as an error nobody retrieved."""
    worker = await Analyst.start()
    try:
        await worker.wait_ready()
        assert worker.stats.pid is not None
        os.kill(worker.stats.pid, signal.SIGKILL)
        with pytest.raises(AnalysisWorkerError):
            await worker.submit(["Перший текст."])
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            left = worker.submit(["Другий текст."])
            assert left.done()
            del left
            gc.collect()
        assert "never retrieved" not in caplog.text
    finally:
        await worker.close()


# A stand-in worker: says it is ready as the real one does, then answers the first chunk with
# the bytes given on its command line (hex) and waits for its input to close.
_FAKE_WORKER = """
import pickle, struct, sys
HEADER = struct.Struct("!I")
out = sys.stdout.buffer
ready = pickle.dumps(("ready", None, 1.0))
out.write(HEADER.pack(len(ready)) + ready)
out.flush()
head = sys.stdin.buffer.read(HEADER.size)
sys.stdin.buffer.read(HEADER.unpack(head)[0])
out.write(bytes.fromhex(sys.argv[1]))
out.flush()
sys.stdin.buffer.read()
"""


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@pytest.mark.parametrize(
    "answer",
    [
        _frame(b"this is not a pickle"),
        _frame(pickle.dumps(42)),
    ],
    ids=["not-a-pickle", "not-a-message"],
)
async def test_a_worker_that_answers_garbage_fails_the_import(answer: bytes) -> None:
    """What the worker writes is read, not trusted: an answer that cannot be read fails the
    chunks waiting for it (before: the reader task died, and the import waited forever)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _FAKE_WORKER,
        answer.hex(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    worker = Analyst(proc, analyst.WorkerStats())
    try:
        await worker.wait_ready()
        first = worker.submit(["Перший текст."])
        second = worker.submit(["Другий текст."])
        # A bound only against hanging the suite: a failing worker fails at once.
        with pytest.raises(AnalysisWorkerError, match="unreadable"):
            await asyncio.wait_for(asyncio.gather(first, second), 60)
    finally:
        await worker.close()
    assert proc.returncode is not None


async def test_a_bot_package_in_the_working_directory_is_not_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wirewatch import` run from another checkout (or any directory with a `bot` package):
    the worker runs this installation's code, not the one found in the working directory
    (`python -m` puts the working directory before PYTHONPATH)."""
    worker_py = tmp_path / "bot" / "ingest" / "analysis_worker.py"
    worker_py.parent.mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "ingest" / "__init__.py").write_text("")
    worker_py.write_text("raise SystemExit(7)\n")
    monkeypatch.chdir(tmp_path)
    worker = await Analyst.start()
    try:
        await worker.wait_ready()
        assert await worker.submit(["Уряд ухвалив постанову."]) == [
            index_fields("Уряд ухвалив постанову.")
        ]
    finally:
        await worker.close()


def test_a_worker_whose_parent_is_gone_exits_quietly() -> None:
    """The parent killed (SIGKILL, the OOM killer): its end of the pipe is closed and the
    worker's next answer cannot be sent. It exits without a traceback on the terminal the
    two share (before: BrokenPipeError printed after the parent had died)."""
    root = str(Path(analyst.__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", analyst.WORKER_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()  # gone before the worker says it is ready
    data = pickle.dumps(["Уряд ухвалив постанову."])
    proc.stdin.write(_frame(data))
    proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()  # to its end: the worker has exited
    assert err.decode() == "" and proc.wait() == 0
