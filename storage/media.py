"""The media folder: photos and documents of posts, named by the SHA-256 of their bytes.

`<root>/ab/abcdef....jpg`: the same picture posted twice (or by two channels) is one file.
The folder stays within `cap_bytes`: after each new file the oldest files are removed until the
total fits; their rows stay with `removed_at` set, so the hash and the OCR text outlive the
bytes. File work (hashing, copying) runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from storage.db import Database, now

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class MediaFile:
    sha256: str
    size: int
    ext: str
    kind: str
    removed: bool
    ocr_text: str | None

    @property
    def name(self) -> str:
        return f"{self.sha256[:2]}/{self.sha256}{self.ext}"


@dataclass(frozen=True, slots=True)
class PostFile:
    """A file of a post: which message carried it, and the file."""

    post_id: int
    message_id: int
    file: MediaFile


class MediaTooLarge(ValueError):
    """A file over the per-file limit (or over the whole cap): not kept."""


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _ext(name: str) -> str:
    suffix = Path(name).suffix.lower()
    # Only a plain short suffix names a file in the store: nothing from outside picks a path.
    if 1 < len(suffix) <= 6 and suffix[1:].isalnum():
        return suffix
    return ".bin"


# A file is its message's current one unless an edit replaced the message's media since: the
# file was kept for another identity than the one the message (the post's own, or an album's
# other message) has now. A file or a message without an identity (an export's, a post kept
# before identities were) is current.
_CURRENT = (
    "(pm.media_key IS NULL OR COALESCE("
    "(SELECT p.media_key FROM posts p WHERE p.id = pm.post_id AND p.message_id = pm.message_id),"
    " (SELECT a.media_key FROM album_items a"
    " WHERE a.post_id = pm.post_id AND a.message_id = pm.message_id),"
    " pm.media_key) = pm.media_key)"
)


class MediaRepo:
    """The rows: files, and which post carries which."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_file(self, sha256: str, size: int, ext: str, kind: str) -> bool:
        """True if the file is new (or comes back after removal)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO media_files (sha256, size, ext, kind, stored_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE"
                " SET removed_at = NULL, stored_at = excluded.stored_at"
                " WHERE media_files.removed_at IS NOT NULL",
                (sha256, size, ext, kind, now()),
            )
            return cur.rowcount > 0

    async def get(self, sha256: str) -> MediaFile | None:
        row = await self.db.fetchone("SELECT * FROM media_files WHERE sha256 = ?", (sha256,))
        return _file(row) if row else None

    async def attach(
        self, post_id: int, message_id: int, sha256: str, media_key: str | None = None
    ) -> None:
        """The file is the post's, carried by `message_id` as the media `media_key` (None: a
        source that cannot tell, an export's file)."""
        await self.db.execute(
            "INSERT INTO post_media (post_id, message_id, sha256, added_at, media_key)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (post_id, message_id, sha256) DO UPDATE"
            " SET media_key = COALESCE(excluded.media_key, post_media.media_key)",
            (post_id, message_id, sha256, now(), media_key),
        )

    async def of_post(
        self, post_id: int, *, up_only: bool = False, current: bool = False
    ) -> list[PostFile]:
        """The post's files in message order. `current`: not those an edit replaced with
        another picture or file (their message's media is another now); `up_only`: current,
        and not those of an album's messages the channel deleted either (the evidence keeps
        both; an alert shows what the channel shows)."""
        where = ""
        if up_only or current:
            where += f" AND {_CURRENT}"
        if up_only:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM album_deleted d"
                " WHERE d.post_id = pm.post_id AND d.message_id = pm.message_id)"
            )
        rows = await self.db.fetchall(
            "SELECT pm.post_id, pm.message_id, f.* FROM post_media pm"
            " JOIN media_files f ON f.sha256 = pm.sha256"
            f" WHERE pm.post_id = ?{where} ORDER BY pm.message_id, pm.added_at",
            (post_id,),
        )
        return [PostFile(r["post_id"], r["message_id"], _file(r)) for r in rows]

    async def kept(self, channel: str, message_id: int, media_key: str) -> bool:
        """Whether the file of this media is already linked to the channel's message (as its
        post's, or an album's other message's): a download of it again is a waste of requests.
        Telegram re-sends a message on every edit, and on reactions too."""
        row = await self.db.fetchone(
            "SELECT 1 FROM post_media pm JOIN posts p ON p.id = pm.post_id"
            " JOIN sources s ON s.id = p.source_id"
            " WHERE s.username = ? AND pm.message_id = ? AND pm.media_key = ? LIMIT 1",
            (channel, message_id, media_key),
        )
        return row is not None

    async def set_ocr(self, sha256: str, text: str) -> None:
        await self.db.execute(
            "UPDATE media_files SET ocr_text = ?, ocr_at = ? WHERE sha256 = ?",
            (text, now(), sha256),
        )

    async def usage(self) -> tuple[int, int]:
        """(files, bytes) present in the folder."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM media_files WHERE removed_at IS NULL"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def oldest(self, limit: int) -> list[MediaFile]:
        rows = await self.db.fetchall(
            "SELECT * FROM media_files WHERE removed_at IS NULL ORDER BY stored_at, rowid LIMIT ?",
            (limit,),
        )
        return [_file(r) for r in rows]

    async def stored_before(self, cutoff: int, limit: int) -> list[MediaFile]:
        rows = await self.db.fetchall(
            "SELECT * FROM media_files WHERE removed_at IS NULL AND stored_at < ?"
            " ORDER BY stored_at LIMIT ?",
            (cutoff, limit),
        )
        return [_file(r) for r in rows]

    async def mark_removed(self, sha256s: list[str]) -> None:
        if not sha256s:
            return
        await self.db.executemany(
            "UPDATE media_files SET removed_at = ? WHERE sha256 = ?",
            [(now(), s) for s in sha256s],
        )


def _file(r: aiosqlite.Row) -> MediaFile:
    return MediaFile(
        sha256=r["sha256"],
        size=int(r["size"]),
        ext=r["ext"],
        kind=r["kind"],
        removed=r["removed_at"] is not None,
        ocr_text=r["ocr_text"],
    )


class MediaFolder:
    """Files on disk, kept in step with `MediaRepo` and within `cap_bytes`."""

    def __init__(
        self, repo: MediaRepo, root: Path, *, cap_bytes: int, max_file_bytes: int
    ) -> None:
        self.repo = repo
        self.root = root
        self.cap_bytes = cap_bytes
        self.max_file_bytes = min(max_file_bytes, cap_bytes)
        self._lock = asyncio.Lock()  # one writer: the cap is checked against a settled total

    def path(self, f: MediaFile) -> Path:
        return self.root / f.name

    async def put_bytes(self, data: bytes, name: str, kind: str) -> MediaFile:
        if len(data) > self.max_file_bytes:
            raise MediaTooLarge(f"{len(data)} bytes is over the {self.max_file_bytes}-byte limit")
        sha = hashlib.sha256(data).hexdigest()
        return await self._keep(sha, len(data), _ext(name), kind, lambda t: _write(t, data))

    async def put_file(self, source: Path, kind: str) -> MediaFile:
        """Copy a file into the folder. A copy, not a link: the kept bytes must not change
        when someone edits or deletes the export they came from."""
        size = (await asyncio.to_thread(source.stat)).st_size
        if size > self.max_file_bytes:
            raise MediaTooLarge(
                f"{source.name}: {size} bytes is over the {self.max_file_bytes}-byte limit"
            )
        sha, size = await asyncio.to_thread(hash_file, source)
        return await self._keep(sha, size, _ext(source.name), kind, lambda t: _copy(source, t))

    async def _keep(
        self, sha: str, size: int, ext: str, kind: str, write: Callable[[Path], None]
    ) -> MediaFile:
        async with self._lock:
            known = await self.repo.get(sha)
            if known is None or known.removed:
                # Room first, then the file: the folder is never over its cap, not even
                # between a write and the clean-up after it.
                await self._make_room(size)
                ext = known.ext if known is not None else ext
                await asyncio.to_thread(write, self.root / sha[:2] / f"{sha}{ext}")
                await self.repo.add_file(sha, size, ext, kind)
        f = await self.repo.get(sha)
        assert f is not None
        return f

    async def _make_room(self, size: int) -> None:
        """Remove the oldest files until `size` more bytes fit within the cap."""
        _, total = await self.repo.usage()
        while total + size > self.cap_bytes:
            batch = await self.repo.oldest(64)
            if not batch:
                break
            gone: list[str] = []
            for f in batch:
                if total + size <= self.cap_bytes:
                    break
                await asyncio.to_thread(_unlink, self.path(f))
                gone.append(f.sha256)
                total -= f.size
            await self.repo.mark_removed(gone)

    async def first_photo(self, post_id: int, *, max_bytes: int) -> tuple[bytes, str] | None:
        """(bytes, file name) of the post's first photo still in the folder and within
        `max_bytes`, or None; never one of an album's messages the channel deleted."""
        for pf in await self.repo.of_post(post_id, up_only=True):
            f = pf.file
            if f.kind != "photo" or f.removed or f.size > max_bytes:
                continue
            try:
                data = await asyncio.to_thread(self.path(f).read_bytes)
            except OSError:
                continue  # removed under us: the alert goes without it
            return data, f"{f.sha256[:16]}{f.ext}"
        return None

    async def expire(self, cutoff: int) -> int:
        """Retention: remove files stored before `cutoff`; returns how many."""
        removed = 0
        async with self._lock:
            while batch := await self.repo.stored_before(cutoff, 500):
                for f in batch:
                    await asyncio.to_thread(_unlink, self.path(f))
                await self.repo.mark_removed([f.sha256 for f in batch])
                removed += len(batch)
        return removed

    def disk_usage(self) -> int:
        """Bytes actually in the folder (for checks; walks the tree)."""
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                total += os.stat(os.path.join(dirpath, name)).st_size
        return total


def _write(target: Path, data: bytes) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _copy(source: Path, target: Path) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
