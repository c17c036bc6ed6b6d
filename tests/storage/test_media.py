"""The media folder: content-addressed files, the cap, retention; rows outlive their bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import now
from storage.media import MediaFolder, MediaTooLarge, hash_file
from storage.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "m.db")
    yield s
    await s.close()


async def test_same_bytes_are_one_file_named_by_their_hash(store: Store, tmp_path: Path) -> None:
    folder = MediaFolder(store.media, tmp_path / "m", cap_bytes=10_000, max_file_bytes=5_000)
    a = await folder.put_bytes(b"x" * 100, "photo.JPG", "photo")
    b = await folder.put_bytes(b"x" * 100, "other.jpg", "photo")
    assert a == b and a.ext == ".jpg"
    path = folder.path(a)
    assert path.name == f"{a.sha256}.jpg" and path.parent.name == a.sha256[:2]
    assert hash_file(path) == (a.sha256, 100)
    assert await store.media.usage() == (1, 100)
    # A name from outside never picks the path: odd suffixes become .bin.
    c = await folder.put_bytes(b"y", "../../evil.sh;rm", "document")
    assert folder.path(c).parent.parent == tmp_path / "m" and c.ext == ".bin"


async def test_cap_removes_the_oldest_first_and_refuses_what_cannot_fit(
    store: Store, tmp_path: Path
) -> None:
    folder = MediaFolder(store.media, tmp_path / "m", cap_bytes=1000, max_file_bytes=600)
    kept = [await folder.put_bytes(bytes([n]) * 300, f"{n}.png", "photo") for n in range(5)]
    files, size = await store.media.usage()
    assert (files, size) == (3, 900)
    assert [folder.path(f).exists() for f in kept] == [False, False, True, True, True]
    gone = await store.media.get(kept[0].sha256)
    assert gone is not None and gone.removed  # the row and hash stay
    with pytest.raises(MediaTooLarge):
        await folder.put_bytes(b"z" * 601, "big.png", "photo")
    # A removed file that comes again is kept again.
    again = await folder.put_bytes(bytes([0]) * 300, "0.png", "photo")
    assert not again.removed and folder.path(again).exists()


async def test_retention_removes_old_files(store: Store, tmp_path: Path) -> None:
    folder = MediaFolder(store.media, tmp_path / "m", cap_bytes=10_000, max_file_bytes=1000)
    f = await folder.put_bytes(b"old", "a.jpg", "photo")
    assert await folder.expire(now() - 60) == 0
    assert await folder.expire(now() + 1) == 1
    assert not folder.path(f).exists()
    assert await store.media.usage() == (0, 0)
