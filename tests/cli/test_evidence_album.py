"""`wirewatch evidence` of an album that lost some of its photos: the trail names each deleted
message, says which are still up, and still verifies."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.ingest.pipeline import Pipeline
from storage.records import Deletion, Post
from storage.store import Store

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
CAPTION = "Нова лінія тролейбуса запрацює з понеділка: перші рейси о 6:00."


async def _archive(db: Path) -> None:
    store = await Store.open(db)
    try:
        pipe = Pipeline(store)
        for mid in (40, 41, 42):
            await pipe.handle(
                Post(
                    "transit_city_demo",
                    mid,
                    T0 + timedelta(seconds=mid),
                    CAPTION if mid == 41 else "",
                    media="photo",
                    grouped_id=918,
                )
            )
        await pipe.handle(Deletion("transit_city_demo", (42,), T0 + timedelta(hours=1)))
    finally:
        await store.close()


def test_an_albums_trail_names_each_deleted_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    asyncio.run(_archive(db))
    # Any photo's link opens the album's trail, the deleted photo's too.
    link = "https://t.me/transit_city_demo/42"
    assert main(["evidence", link, "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True
    kinds = [(r["kind"], r["message_id"]) for r in report["records"]]
    assert kinds == [("version", 40), ("version", 40), ("deletion", 42)]
    assert json.loads(report["records"][-1]["raw"])["deleted_ids"] == [42]
    assert main(["evidence", link, "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "#3  deletion of the album's message 42 noticed" in text
    assert "The album's messages still up: 40, 41 (2 of 3)." in text
    assert "Verified: all 3 records match their SHA-256 hashes." in text
