"""`wirewatch import` of an export with its photos: each kept once in the content-addressed
media folder, the folder within its cap however many photos come, the hash of every file and of
every entry kept."""

from __future__ import annotations

import asyncio
import json
import os
import random
from pathlib import Path

import pytest
from PIL import Image

from bot.cli.main import main
from storage.media import hash_file
from storage.store import Store

N_PHOTOS = 1000
CAP_MB = 2


def photo_export(folder: Path, n: int, *, seed: int = 16) -> Path:
    """A one-channel export of `n` photo posts, each photo a distinct JPEG of 4-12 KB."""
    rng = random.Random(seed)
    photos = folder / "photos"
    photos.mkdir(parents=True)
    messages = []
    for i in range(1, n + 1):
        size = rng.randint(48, 96)
        noise = bytes(rng.getrandbits(8) for _ in range(size * size * 3))
        name = f"photos/photo_{i}@02-03-2026_09-00-00.jpg"
        Image.frombytes("RGB", (size, size), noise).save(folder / name, "JPEG", quality=90)
        messages.append(
            {
                "id": i,
                "type": "message",
                "date": "2026-03-02T09:00:00",
                "date_unixtime": str(1772434800 + 60 * i),
                "from": "Генштаб",
                "photo": name,
                "width": size,
                "height": size,
                "text": "" if i % 3 else f"Зведення {i}",
            }
        )
    # One photo the export did not include, one pointing outside the export: neither is read.
    messages.append(
        {
            "id": n + 1,
            "type": "message",
            "date_unixtime": str(1772434800 + 60 * (n + 1)),
            "date": "2026-03-02T09:00:00",
            "photo": "(File not included. Change data exporting settings to download.)",
            "text": "",
        }
    )
    messages.append(
        {
            "id": n + 2,
            "type": "message",
            "date_unixtime": str(1772434800 + 60 * (n + 2)),
            "date": "2026-03-02T09:00:00",
            "photo": "../../../etc/hostname",
            "text": "",
        }
    )
    doc = {"name": "Генштаб", "type": "public_channel", "id": 1700000016, "messages": messages}
    path = folder / "result.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def folder_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@pytest.mark.slow
def test_media_folder_stays_within_its_cap_over_a_1000_photo_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = photo_export(tmp_path / "export", N_PHOTOS)
    total = sum(p.stat().st_size for p in (tmp_path / "export" / "photos").iterdir())
    cap = CAP_MB * 1024 * 1024
    assert total > 2 * cap  # the import brings more than twice what the folder may hold
    media = tmp_path / "media"
    monkeypatch.setenv("WIREWATCH_CAPTURE__MEDIA_DIR", str(media))
    monkeypatch.setenv("WIREWATCH_CAPTURE__MEDIA_CAP_MB", str(CAP_MB))
    monkeypatch.setenv("WIREWATCH_CAPTURE__OCR", "false")  # noise has no text to read
    db = tmp_path / "w.db"

    code = main(["import", str(export), "--source", "@gen_staff", "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"read {N_PHOTOS + 2} events" in out
    assert f"media: {N_PHOTOS} files kept" in out

    files, size = folder_bytes(media)
    assert size <= cap, f"{size} bytes on disk over the {cap}-byte cap"
    assert 0 < files < N_PHOTOS

    async def check() -> None:
        store = await Store.open(db)
        try:
            present, accounted = await store.media.usage()
            assert (present, accounted) == (files, size)
            # The newest photos are the ones kept; every kept file is what its name says.
            newest = await store.posts.get_by_link("gen_staff", N_PHOTOS)
            assert newest is not None
            (kept,) = await store.media.of_post(newest.id)
            assert not kept.file.removed
            path = media / kept.file.name
            assert hash_file(path)[0] == kept.file.sha256
            oldest = await store.posts.get_by_link("gen_staff", 1)
            assert oldest is not None
            (gone,) = await store.media.of_post(oldest.id)
            assert gone.file.removed  # the row and its hash stay; the bytes made room
            # Each post's export entry is in the evidence trail, hashed.
            (record,) = await store.evidence.for_message("gen_staff", 1)
            assert record.origin == "export" and record.intact
            assert json.loads(record.raw)["photo"].startswith("photos/photo_1@")
            assert await store.evidence.count() == N_PHOTOS + 2
        finally:
            await store.close()

    asyncio.run(check())
    assert not any(p.name.endswith(".part") for p in media.rglob("*"))
    assert os.path.exists(export)  # the export itself is left as it was


def test_an_export_photo_is_copied_not_linked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = photo_export(tmp_path / "export", 3)
    media = tmp_path / "media"
    monkeypatch.setenv("WIREWATCH_CAPTURE__MEDIA_DIR", str(media))
    monkeypatch.setenv("WIREWATCH_CAPTURE__OCR", "false")
    assert (
        main(["import", str(export), "--source", "@gen_staff", "--db", str(tmp_path / "w.db")])
        == 0
    )
    capsys.readouterr()
    kept = list(media.rglob("*.jpg"))
    assert len(kept) == 3
    # Editing the export afterwards does not change what was kept.
    original = kept[0].read_bytes()
    for p in (tmp_path / "export" / "photos").iterdir():
        p.write_bytes(b"changed")
    assert kept[0].read_bytes() == original
