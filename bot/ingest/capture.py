"""Capture: media of stored posts into the media folder, and the text in their images.

Sources hand files over after the post itself went through the pipeline, so a text post is never
held up by a download or by OCR: the work waits in a queue, one worker (Tesseract is CPU-bound
and the machine is shared) reads each photo in a thread, and the text goes back to the pipeline
(`apply_ocr`), which stores it as the post's OCR field, indexes it, and alerts anyone whose rule
matches words in the image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.ocr import OcrEngine, OcrError
from storage.media import MediaFile, MediaFolder, MediaTooLarge
from storage.store import Store

log = logging.getLogger(__name__)

# post id, the text of its images, whether anyone may be alerted
OnText = Callable[[int, str, bool], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class _Job:
    channel: str
    message_id: int
    kind: str  # photo / document
    alert: bool  # False for back-fills and imports that alert nobody
    path: Path | None = None  # a file to bring into the folder (an export's)
    file: MediaFile | None = None  # already in the folder (a download)


class Capture:
    """The queue between sources and OCR. `start()` runs the worker; `join()` waits for the
    queue to empty (imports); `close()` stops."""

    def __init__(
        self,
        store: Store,
        folder: MediaFolder,
        ocr: OcrEngine | None,
        *,
        on_text: OnText | None = None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.ocr = ocr
        self.on_text = on_text
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.kept = 0
        self.read = 0
        self.skipped = 0
        self.last_error: str | None = None

    # -- what sources call -----------------------------------------------------------------

    def submit_path(
        self, channel: str, message_id: int, path: Path, kind: str, *, alert: bool
    ) -> None:
        self._put(_Job(channel, message_id, kind, alert, path=path))

    async def file_kept(
        self, channel: str, message_id: int, file: MediaFile, *, alert: bool
    ) -> None:
        """A downloaded file is in the folder: link it to its post and read it."""
        self._put(_Job(channel, message_id, file.kind, alert, file=file))

    def _put(self, job: _Job) -> None:
        self._queue.put_nowait(job)
        self.start()

    # -- the worker ------------------------------------------------------------------------

    def start(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="capture")

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def join(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._process(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # One bad file must not stop the others: say which and go on.
                self.skipped += 1
                self.last_error = f"@{job.channel}/{job.message_id}: {type(exc).__name__}: {exc}"
                log.exception("capture of @%s/%s failed", job.channel, job.message_id)
            finally:
                self._queue.task_done()

    async def _process(self, job: _Job) -> None:
        file = job.file
        if file is None:
            assert job.path is not None
            try:
                file = await self.folder.put_file(job.path, job.kind)
            except (MediaTooLarge, OSError) as exc:
                self.skipped += 1
                self.last_error = f"@{job.channel}/{job.message_id}: {exc}"
                log.warning("media of @%s/%s not kept: %s", job.channel, job.message_id, exc)
                return
        self.kept += 1
        post = await self.store.posts.get_by_link(job.channel, job.message_id)
        if post is None:
            log.warning("media of @%s/%s has no stored post", job.channel, job.message_id)
            return
        await self.store.media.attach(post.id, job.message_id, file.sha256)
        if self.ocr is None or file.kind != "photo" or self.on_text is None:
            return
        if file.ocr_text is None:
            path = self.folder.path(file)
            try:
                text = await asyncio.to_thread(self.ocr.read, path)
            except (OcrError, OSError) as exc:
                self.skipped += 1
                self.last_error = f"@{job.channel}/{job.message_id}: {exc}"
                log.warning("OCR of @%s/%s failed: %s", job.channel, job.message_id, exc)
                return
            await self.store.media.set_ocr(file.sha256, text)
            self.read += 1
        # An album's photos are read one by one; the post's field holds all of them, in order.
        texts = [
            pf.file.ocr_text
            for pf in await self.store.media.of_post(post.id)
            if pf.file.kind == "photo" and pf.file.ocr_text
        ]
        await self.on_text(post.id, "\n".join(dict.fromkeys(texts)), job.alert)
