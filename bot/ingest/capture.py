"""Capture: media of stored posts into the media folder, and the text in their images.

Sources hand files over after the post itself went through the pipeline, so a text post is never
held up by a download or by OCR: the work waits in a queue, one worker (Tesseract is CPU-bound
and the machine is shared) reads each photo in a thread, and `apply_ocr` stores the text as the
post's OCR field, indexes it, and alerts anyone whose rule matches words in the image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.ingest.ocr import OcrEngine, OcrError
from bot.ingest.steps import alert_args
from bot.matching import Analysis, analyze
from bot.settings import CaptureSettings
from storage.evidence import deletion_json, post_json
from storage.media import MediaFile, MediaFolder, MediaTooLarge, PostFile
from storage.models import Alert, Source, StoredPost
from storage.records import Deletion, Post
from storage.store import Store

if TYPE_CHECKING:
    from bot.ingest.pipeline import Pipeline
    from sources.telegram.listener import Listener
    from sources.telegram.media import MediaFetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    channel: str
    message_id: int
    kind: str  # photo / document
    alert: bool  # False for back-fills and imports that alert nobody
    path: Path | None = None  # a file to bring into the folder (an export's)
    file: MediaFile | None = None  # already in the folder (a download)
    media_key: str | None = None  # what the message's media was when it was downloaded


def version_record(src: Source, post: Post, message_id: int, version: int) -> dict[str, Any]:
    """The evidence record of a stored version: the message as the source gave it."""
    return {
        "channel": src.username,
        "channel_id": src.peer_id or post.channel_id,
        "message_id": message_id,
        "kind": "version",
        "version": version,
        "origin": post.origin,
        "raw": post.raw or post_json(post),
    }


def deletion_record(
    src: Source, event: Deletion, message_id: int, post: StoredPost
) -> dict[str, Any]:
    """The evidence record of a deletion. Its time is when the repository writes it: when we
    noticed. The event's own date (what the source reported, or a feed's post date) stays in
    the raw record."""
    return {
        "channel": src.username,
        "channel_id": src.peer_id or event.channel_id,
        "message_id": message_id,
        "kind": "deletion",
        "version": post.version,
        "origin": event.origin,
        "raw": event.raw or deletion_json(event),
    }


class Capture:
    """The queue between sources and OCR. `start()` runs the worker; `join()` waits for the
    queue to empty (imports); `close()` stops."""

    def __init__(
        self,
        store: Store,
        folder: MediaFolder,
        ocr: OcrEngine | None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.ocr = ocr
        self.pipeline: Pipeline | None = None  # set by the pipeline that submits to it
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._fetcher: MediaFetcher | None = None
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
        self,
        channel: str,
        message_id: int,
        file: MediaFile,
        *,
        alert: bool,
        media_key: str | None = None,
    ) -> None:
        """A downloaded file is in the folder: link it to its post and read it. `media_key`:
        the identity of the media it was downloaded as (an edit may replace it)."""
        self._put(_Job(channel, message_id, file.kind, alert, file=file, media_key=media_key))

    def submit_post(self, post: Post, message_id: int, *, alert: bool) -> None:
        """A file the source already has (an export's photo): kept and read after the post's
        transaction, never holding it up. `alert` False: its text alerts nobody."""
        if not post.media_path:
            return
        kind = "photo" if post.media == "photo" else "document"
        self.submit_path(
            post.channel,
            message_id,
            Path(post.media_path),
            kind,
            alert=alert and not post.backfill,
        )

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

    def listen(self, listener: Listener, *, documents: bool) -> None:
        """Take the files of the posts the Telethon listener hands over: it downloads them
        (through its request gate) after each post, and they come here."""
        from sources.telegram.media import attach_media

        self._fetcher = attach_media(listener, self.folder, self.file_kept, documents=documents)

    async def close(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.close()
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
        await self.store.media.attach(post.id, job.message_id, file.sha256, job.media_key)
        if self.ocr is None or file.kind != "photo" or self.pipeline is None:
            return
        current = await self.store.media.of_post(post.id, current=True)
        if not any(pf.file.sha256 == file.sha256 for pf in current):
            # An edit replaced this picture while it was downloaded: kept, not read.
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
        # An album's photos are read one by one; the post's field holds all of them, in order
        # (not one an edit replaced, nor one the channel deleted from the album).
        text = ocr_of(await self.store.media.of_post(post.id, up_only=True))
        await apply_ocr(self.pipeline, post.id, text, alert=job.alert)


def ocr_of(files: Sequence[PostFile]) -> str:
    """The post's OCR field from its files: each photo's text once, in message order."""
    texts = [pf.file.ocr_text for pf in files if pf.file.kind == "photo" and pf.file.ocr_text]
    return "\n".join(dict.fromkeys(texts))


async def apply_ocr(pipeline: Pipeline, post_id: int, text: str, *, alert: bool = True) -> int:
    """The text read from a stored post's images: stored as its own field and indexed; people
    whose rules match words in the image (and who were not alerted about the post already) are
    alerted, with drafts that say what the image reads. Returns the alerts queued."""
    store = pipeline.store
    await pipeline.refresh_rules()
    async with store.db.transaction():
        stored = await store.posts.get_by_id(post_id)
        if stored is None or stored.ocr_text == text:
            return 0
        analysis = analyze(text)
        await store.posts.set_ocr(post_id, text, analysis.norm, analysis.lemma_text)
        alerts = await picture_alerts(pipeline, post_id, analysis, alert=alert)
    await pipeline.queued(alerts)
    return alerts


async def picture_alerts(
    pipeline: Pipeline, post_id: int, analysis: Analysis, *, alert: bool = True
) -> int:
    """In the caller's transaction, the post's pictures now reading `analysis` (its OCR field,
    just set): people whose rules match those words and who were not alerted about the post
    are alerted, and those who were hear of a replaced picture (`_picture_follow_ups`).
    Returns the alerts queued; the caller wakes the drafter when it commits."""
    store = pipeline.store
    stored = await store.posts.get_by_id(post_id)
    src = await store.sources.get(stored.source_id) if stored else None
    if stored is None or src is None:
        return 0
    originals = await store.alerts.originals(post_id)
    alerts = await pipeline._alert_new(
        src,
        stored,
        analysis,
        {a.person_id for a in originals},
        version=stored.version,
        backfill=not alert,
        image=True,
    )
    if alert:
        alerts += await _picture_follow_ups(pipeline, src, stored, analysis, originals)
    return alerts


async def _picture_follow_ups(
    pipeline: Pipeline, src: Source, post: StoredPost, analysis: Analysis, originals: list[Alert]
) -> int:
    """The post's picture was replaced (its current version changed its media) and the new
    one is read: those alerted about the post hear of it, replying to their alert, when its
    text matches the rule they were alerted by and says other words than the pictures before
    it. Any other new picture is kept in the record (a version and its evidence) without a
    message: nothing in it is news by their rules."""
    if not (pipeline.alert and src.active) or post.deleted_at is not None or not originals:
        return 0
    versions = await pipeline.store.posts.versions(post.id)
    if len(versions) < 2 or versions[-1].version != post.version:
        return 0
    current, before = versions[-1], versions[-2]
    if "media" not in (current.changed or ()) or before.ocr_text.split() == post.ocr_text.split():
        return 0
    _, spans = pipeline._matches(analysis, src)
    queued = 0
    for original in originals:
        rule_spans = spans.for_rule(original.rule_id)
        if not rule_spans:
            continue
        person = await pipeline.follow_up_to(original.person_id, src)
        if person is None:
            continue
        payload = await pipeline.drafter.compose(
            "edit", post, src, person, image_spans=rule_spans, previous_text=post.text
        )
        args = alert_args(person, post, "edit", payload, original.rule_id, original.id, spans=())
        if await pipeline.store.alerts.enqueue(**args) is not None:
            queued += 1
    return queued


def build_capture(store: Store, settings: CaptureSettings) -> Capture:
    """The media folder and OCR from settings; OCR is off, with a warning saying why, when
    Tesseract or its language data is missing."""
    folder = MediaFolder(
        store.media,
        settings.media_dir,
        cap_bytes=settings.cap_bytes,
        max_file_bytes=settings.max_file_bytes,
    )
    ocr: OcrEngine | None = None
    if settings.ocr:
        engine = OcrEngine(settings.ocr_langs, timeout=settings.ocr_timeout)
        reason = engine.unavailable()
        if reason is None:
            ocr = engine
        else:
            log.warning("OCR is off: %s", reason)
    return Capture(store, folder, ocr)
