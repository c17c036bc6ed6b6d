"""An import's analysis in a worker process of its own, chunk by chunk ahead of the writer.

Lemmatising (pymorphy3) is pure Python and holds the GIL, and so do the writer's Python steps:
in one process the two halves of an import add up, even with SQLite working in its own thread.
Here the texts of the next chunks go to a worker process over a pipe while the current chunk is
written; the worker sends back each text's FTS columns (`norm`, `lemma_text`), which is all that
storing a new post needs when nothing in the import is matched (Pipeline.handle_batch decides).

The worker is a plain `python -m bot.ingest.analysis_worker` child, not a multiprocessing pool.
The service and the CLI run an event loop and threads (aiosqlite's, the WAL checkpointer's),
which rules out fork: a lock another thread holds at the fork stays locked in the child, and the
child would share the parent's open SQLite connection. Spawn and forkserver are safe, but both
start the child by re-importing the parent's `__main__`, which for `wirewatch` is the whole
command line (aiogram included: ~1.2 s and ~100 MiB more); this child imports only the matching
package. It runs in a session of its own, so the terminal's Ctrl-C reaches only the parent,
which then kills it; it exits by itself when its input closes (the parent ended, however). It
lives for one import, so no long-running process keeps its memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.analysis_worker import HEADER
from bot.ingest.steps import Prepared, chunks, new_post_from, prepare
from storage.records import Event, Post

log = logging.getLogger(__name__)

# Imports of at least this many events start a worker (a stream of unknown length: once this
# many were read). Until it is ready (0.35-0.7 s; 0.33 s of CPU: Python, the matching package,
# pymorphy3's dictionaries) the import analyses in-process as before. Each post it analyses
# takes ~0.05 ms of CPU off this process (0.12-0.13 -> 0.07-0.08 ms a post, 20,000 posts), so
# it pays back its start-up after ~7,000 posts; bench/import_search.py --worker-sizes compares
# both by size (5,000: 0.58x, 10,000: 0.94x, 20,000: 1.08x, the worker forced from the start
# on a loaded machine).
WORKER_FROM = 10_000
WORKER_MODULE = "bot.ingest.analysis_worker"
# Chunks handed to the worker ahead of the one being written: it never waits for the writer,
# and the texts in flight stay a few chunks.
LOOKAHEAD = 2

Columns = tuple[str, str]  # (norm, lemma_text) of one text


class AnalysisWorkerError(RuntimeError):
    """The worker process stopped or failed; the chunks committed before it are stored."""


@dataclass
class WorkerStats:
    """What an import's worker did (bench/import_search.py prints it)."""

    started: bool = False
    pid: int | None = None
    start_s: float = 0.0  # from launch to ready
    chunks: int = 0  # chunks the worker analysed
    texts: int = 0
    peak_rss_mib: float = 0.0  # the worker's own peak resident memory


class Analyst:
    """The parent's side of a worker: `submit` texts, their columns come back in order."""

    def __init__(self, proc: asyncio.subprocess.Process, stats: WorkerStats) -> None:
        self._proc = proc
        self._waiting: deque[asyncio.Future[list[Columns]]] = deque()
        self._launched = time.perf_counter()
        self.ready = False
        self.stats = stats
        stats.started, stats.pid = True, proc.pid
        self._failure: AnalysisWorkerError | None = None
        self._closing = False
        self._readiness: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, stats: WorkerStats | None = None) -> Analyst:
        # The package's own root first, so that the child imports this very code.
        root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            # Not the working directory first (`-m` would put it before PYTHONPATH): a `bot`
            # package there, another checkout's, would be the worker instead of this code.
            "-P",
            "-m",
            WORKER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        return cls(proc, stats or WorkerStats())

    @property
    def failure(self) -> AnalysisWorkerError | None:
        return self._failure

    async def wait_ready(self) -> None:
        await asyncio.shield(self._readiness)

    def submit(self, texts: list[str]) -> asyncio.Future[list[Columns]]:
        """The columns of `texts`, in their order, once the worker has them."""
        done: asyncio.Future[list[Columns]] = asyncio.get_running_loop().create_future()
        if self._failure is not None:
            done.set_exception(self._failure)
            done.exception()  # retrieved: as in `_fail`, the import stops at the first
            return done
        assert self._proc.stdin is not None
        data = pickle.dumps(texts, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.write(HEADER.pack(len(data)) + data)
        self._waiting.append(done)
        return done

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        out = self._proc.stdout
        try:
            while True:
                (size,) = HEADER.unpack(await out.readexactly(HEADER.size))
                kind, body, rss = pickle.loads(await out.readexactly(size))
                self.stats.peak_rss_mib = max(self.stats.peak_rss_mib, rss)
                if kind == "ready":
                    self.stats.start_s = time.perf_counter() - self._launched
                    self.ready = True
                    self._readiness.set_result(None)
                elif kind == "error":
                    raise AnalysisWorkerError(f"the analysis worker failed: {body}")
                else:
                    self.stats.chunks += 1
                    self.stats.texts += len(body)
                    waiting = self._waiting.popleft()
                    if not waiting.done():
                        waiting.set_result(body)
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await self._proc.wait()
            if self._closing:
                return  # ended by `close`
            self._fail(
                AnalysisWorkerError(
                    f"the analysis worker process stopped (exit code {code}) before the"
                    " import was over"
                )
            )
        except AnalysisWorkerError as exc:
            self._fail(exc)
        except Exception as exc:  # the worker's output is read, not trusted
            # Not a frame, not a message, or an answer nobody asked for: nothing after it can
            # be trusted either. Without this the reader ended and the import waited forever.
            self.kill()
            self._fail(
                AnalysisWorkerError(f"the analysis worker sent an unreadable answer ({exc!r})")
            )

    def _fail(self, exc: AnalysisWorkerError) -> None:
        self._failure = exc
        if not self._readiness.done():
            self._readiness.set_exception(exc)
            self._readiness.exception()  # retrieved: nobody may be waiting for it
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_exception(exc)
                # Retrieved: the import stops at the first of them, and asyncio would log
                # each of the others when it is collected.
                waiting.exception()

    async def close(self) -> None:
        """End the worker: with its input closed it exits; killed if it has not within a
        second, at once if it is not ready yet (nothing is left for it to do), or when the
        import was cancelled."""
        proc = self._proc
        self._closing = True
        try:
            if not self.ready:
                self.kill()
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 1.0)
            except TimeoutError:
                self.kill()
                await proc.wait()
            # Its output ends with it: what it said last (or that it failed) is read.
            await asyncio.wait({self._reader}, timeout=1.0)
        except BaseException:
            self.kill()
            raise
        finally:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def kill(self) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()


def _plain(batch: list[Event]) -> list[Post]:
    """The events of a chunk that take the bulk lane (Pipeline._bulk): they are analysed ahead."""
    return [ev for ev in batch if isinstance(ev, Post) and ev.grouped_id is None]


async def _in_process(batch: list[Event]) -> dict[int, Prepared]:
    # While the previous chunk is written in aiosqlite's thread: yield now and then so that
    # the writer's next step can start. The analysis's texts are computed when first read:
    # `prepare` reads them here, or they are computed while the writer waits.
    out: dict[int, Prepared] = {}
    for n, post in enumerate(_plain(batch)):
        out[id(post)] = prepare(post)
        if n % 25 == 24:
            await asyncio.sleep(0)
    return out


async def _from_worker(
    batch: list[Event], columns: asyncio.Future[list[Columns]]
) -> dict[int, Prepared]:
    got = await columns
    posts = _plain(batch)
    assert len(got) == len(posts)
    out: dict[int, Prepared] = {}
    for k in range(0, len(posts), 100):
        # As in `_in_process`: the writer's next step goes first (`columns` is mostly done
        # already, so nothing else would let it).
        await asyncio.sleep(0)
        for post, (norm, lemmas) in zip(posts[k : k + 100], got[k : k + 100], strict=True):
            out[id(post)] = (None, new_post_from(post, norm, lemmas))
    return out


async def _take(
    batch: list[Event], columns: asyncio.Future[list[Columns]] | None
) -> tuple[list[Event], dict[int, Prepared]]:
    # The writing of the chunk before, just handed over, starts first: otherwise it waits
    # for this one's preparation, and the database thread with it (measured: 4,610 -> 5,382
    # posts/s, median of 6 interleaved 20,000-post imports with the worker).
    await asyncio.sleep(0)
    return batch, await (_in_process(batch) if columns is None else _from_worker(batch, columns))


async def analysed(
    events: Iterable[Event], size: int, *, worker: bool | None, stats: WorkerStats
) -> AsyncGenerator[tuple[list[Event], dict[int, Prepared]], None]:
    """`events` in chunks of `size`, each with its plain posts prepared for storage (by id):
    in-process, or by a worker process a few chunks ahead. `worker`: True, a worker from the
    start and only it; None, one for an import of WORKER_FROM events or more on a machine of
    two cores or more, used once it is ready; False, none. A worker's preparations have no
    Analysis: the caller must not need one.
    """
    analyst: Analyst | None = None
    seen = 0
    total = len(events) if isinstance(events, Sized) else None
    if worker is None and (os.cpu_count() or 1) < 2:
        # One core: a worker could only take turns with this process, and costs more CPU in
        # all (its start-up, the texts and columns pickled both ways).
        worker = False
    pending: deque[tuple[list[Event], asyncio.Future[list[Columns]] | None]] = deque()
    try:
        if worker:
            analyst = await Analyst.start(stats)
            await analyst.wait_ready()
        for batch in chunks(events, size):
            seen += len(batch)
            if analyst is None and worker is None and (total or seen) >= WORKER_FROM:
                try:
                    analyst = await Analyst.start(stats)
                except OSError as exc:
                    # Only a help: the import goes on as it would without one.
                    log.warning("no analysis worker (%s): the import analyses in-process", exc)
                    worker = False
            if analyst is not None and analyst.ready:
                pending.append((batch, analyst.submit([p.text for p in _plain(batch)])))
            else:
                pending.append((batch, None))
            while pending and (pending[0][1] is None or len(pending) > LOOKAHEAD):
                yield await _take(*pending.popleft())
        while pending:
            yield await _take(*pending.popleft())
        if analyst is not None:
            await analyst.close()
            if not analyst.ready and analyst.failure is not None:
                log.warning("%s; the import analysed in-process", analyst.failure)
            log.info(
                "analysis worker: ready in %.2f s, %d posts in %d chunks, peak RSS %.0f MiB",
                stats.start_s,
                stats.texts,
                stats.chunks,
                stats.peak_rss_mib,
            )
            analyst = None
    finally:
        for _, columns in pending:
            # Chunks handed to the worker that the import stopped before: not waited for.
            if columns is not None and not columns.cancel():
                columns.exception()
        if analyst is not None:
            analyst.kill()
            await analyst.close()
