"""Media of followed channels' posts: downloaded after the post itself was handed over, so a
download never delays an alert about the text.

Each download is one request through the listener's gate (paced, FloodWait-safe). Telegram's
file references expire (hours, or when a message is edited): on FILE_REFERENCE_EXPIRED the
message is fetched again for a fresh reference and the download retried once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telethon import TelegramClient, errors, types

from sources.telegram.convert import media_key
from sources.telegram.errors import ListenerStopped
from storage.media import MediaFolder, MediaTooLarge
from storage.models import Source

if TYPE_CHECKING:
    from sources.telegram.listener import Listener

log = logging.getLogger(__name__)

# One request through the listener's gate (paced, FloodWait-safe, reconnecting).
Request = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
PeerOf = Callable[[Source], Awaitable[Any]]
Kept = Callable[[str, int, str], Awaitable[bool]]  # (channel, message id, media identity)


def _photo_size(photo: types.Photo) -> int:
    """Bytes of the largest size Telethon downloads."""
    best = 0
    for s in photo.sizes:
        if isinstance(s, types.PhotoSizeProgressive):
            best = max(best, max(s.sizes))
        elif isinstance(s, types.PhotoSize):
            best = max(best, s.size)
    return best


def wanted(message: Any, *, documents: bool, max_bytes: int) -> str | None:
    """'photo' or 'document' if the message carries a file we keep, else None."""
    media = getattr(message, "media", None)
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        return "photo" if _photo_size(media.photo) <= max_bytes else None
    if documents and isinstance(media, types.MessageMediaDocument):
        doc = media.document
        if isinstance(doc, types.Document) and doc.size <= max_bytes:
            return "document"
    return None


def _file_name(message: Any, kind: str) -> str:
    if kind == "photo":
        return "photo.jpg"
    for attr in getattr(message.media.document, "attributes", []):
        if isinstance(attr, types.DocumentAttributeFilename):
            return str(attr.file_name)
    return "file.bin"


@dataclass(frozen=True, slots=True)
class _Job:
    src: Source
    message: Any
    kind: str
    alert: bool


def _where(job: _Job) -> tuple[str, int]:
    return job.src.username, int(job.message.id)


class MediaFetcher:
    """Downloads in a worker of its own; `submit` returns at once."""

    def __init__(
        self,
        client: TelegramClient,
        request: Request,
        peer_of: PeerOf,
        folder: MediaFolder,
        on_file: Callable[..., Awaitable[object]],
        *,
        documents: bool = True,
        kept: Kept | None = None,
    ) -> None:
        self.client = client
        self.kept = kept  # whether a message's file of that identity is kept already
        self.request = request
        self.peer_of = peer_of
        self.folder = folder
        self.on_file = on_file
        self.documents = documents
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.downloaded = 0
        self.refetched = 0
        self.skipped = 0  # files already kept for their message: not downloaded again
        self.failed = 0
        self.last_error: str | None = None

    def submit(self, src: Source, message: Any, *, alert: bool) -> bool:
        """Queue the message's file if it carries one we keep; True if queued. `alert` False
        (a back-fill): the text in it alerts nobody."""
        kind = wanted(message, documents=self.documents, max_bytes=self.folder.max_file_bytes)
        if kind is None:
            return False
        self._queue.put_nowait(_Job(src, message, kind, alert))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="media-fetcher")
        return True

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
                await self._fetch(job)
            except asyncio.CancelledError:
                raise
            except ListenerStopped:
                return  # the service is stopping; reconciliation brings the file again
            except Exception as exc:
                # The file is lost to us, not the post: it is stored, and reconciliation or a
                # later edit brings the message (and its file) again.
                self.failed += 1
                where = f"@{job.src.username}/{job.message.id}"
                self.last_error = f"{where}: {type(exc).__name__}: {exc}"
                log.warning("media of %s not downloaded: %s", where, exc)
            finally:
                self._queue.task_done()

    async def _download(self, message: Any) -> bytes:
        return bytes(await self.client.download_media(message, file=bytes))

    async def _fetch(self, job: _Job) -> None:
        what = f"media @{job.src.username}/{job.message.id}"
        message = job.message
        key = media_key(message)
        # The same picture again (an edit of the caption, a reaction): Telegram re-sends the
        # message with the file, and its reference, anew.
        if key is not None and self.kept is not None and await self.kept(*_where(job), key):
            self.skipped += 1
            return
        try:
            data = await self.request(what, lambda: self._download(message))
        except errors.FileReferenceExpiredError:
            # The reference in the message we hold is stale: ask for the message again.
            self.refetched += 1
            peer = await self.peer_of(job.src)
            fresh = await self.request(
                what, lambda: self.client.get_messages(peer, ids=message.id)
            )
            if fresh is None or getattr(fresh, "media", None) is None:
                log.info("%s: the message or its media is gone", what)
                return
            data = await self.request(what, lambda: self._download(fresh))
        try:
            file = await self.folder.put_bytes(data, _file_name(message, job.kind), job.kind)
        except MediaTooLarge as exc:
            log.info("%s not kept: %s", what, exc)
            return
        self.downloaded += 1
        await self.on_file(job.src.username, int(message.id), file, alert=job.alert, media_key=key)


def attach_media(
    listener: Listener,
    folder: MediaFolder,
    on_file: Callable[..., Awaitable[object]],
    *,
    documents: bool = True,
) -> MediaFetcher:
    """Give the listener a fetcher: every post it hands over that carries a photo (or a
    document within the size limit) is then downloaded through its request gate."""
    fetcher = MediaFetcher(
        listener.client,
        listener._request,
        listener._input_peer,
        folder,
        on_file,
        documents=documents,
        kept=listener.store.media.kept,
    )
    listener.media = fetcher
    return fetcher
