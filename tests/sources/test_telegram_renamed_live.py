"""A followed channel renamed on Telegram while the listener runs: Telethon hands the listener
the channel as it is now (updateChannel, and the entities of each new post), and the source
takes the new name at once, not at the channel's next re-read, so the posts and alerts of the
meantime link to the name that opens them. Its history stays the same source's, and the desk
is told once (the source's note, which /status and `sources list` show)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.service.app import App
from bot.service.sources import apply_sources_file
from bot.settings import Settings
from storage.records import note_text
from storage.store import Store
from tests.sources.test_telegram import MINISTRY, desk, energy_text
from tests.sources.test_telegram_listen import listening
from tests.telethon_seam import FakeTelegram

NEW = "energy_ministry_new"


@pytest.fixture
def fake() -> FakeTelegram:
    tg = FakeTelegram()
    tg.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
    return tg


@pytest.mark.parametrize("told_by", ["updateChannel", "the next post"])
async def test_a_channel_renamed_while_listening_is_followed_under_its_new_name_at_once(
    store: Store, fake: FakeTelegram, told_by: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await desk(store)
    ch = fake.channels[MINISTRY]
    for i in range(1, 3):
        fake.post(ch, i, energy_text(i))
    listener, client, _ = await listening(store, fake)
    await listener.start()
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    ch.entity.username = NEW  # renamed on Telegram; the old name is anyone's now
    if told_by == "updateChannel":
        await client.dispatch(fake.channel_update(ch))
        await client.dispatch(fake.channel_update(ch))  # Telegram may say it again
    for i in (3, 4):
        await client.dispatch(fake.new_update(ch, fake.message(ch, i, energy_text(i))))
    renamed = await store.sources.get(src.id)
    assert renamed is not None and renamed.username == NEW
    assert [s.id for s in await store.sources.list()] == [src.id]
    owners = await store.db.fetchall("SELECT DISTINCT source_id FROM posts")
    assert [r[0] for r in owners] == [src.id]
    # The alerts of the posts after the rename open them: t.me/<old name> is not the channel.
    payloads = [r[0] for r in await store.db.fetchall("SELECT payload FROM alerts ORDER BY id")]
    assert len(payloads) == 2
    assert all(f"t.me/{NEW}/" in p and "t.me/energy_ministry_ua/" not in p for p in payloads)
    assert "renamed to @energy_ministry_new" in note_text(renamed.error)
    told = [r for r in caplog.records if "renamed to @energy_ministry_new" in r.getMessage()]
    assert len(told) == 1


async def test_a_sources_file_still_listing_the_old_name_applies_to_the_renamed_channel(
    store: Store, fake: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The service starts again with the sources file as it was: its entry for the old name
    goes to the channel under its new name (with a warning to write it in the file), not to a
    new source of the old name, which opened nobody, or whoever took the name."""
    await desk(store)
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))
    listener, client, _ = await listening(store, fake)
    await listener.start()
    ch.entity.username = NEW
    await client.dispatch(fake.channel_update(ch))
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nusername = "energy_ministry_ua"\ngender = "f"\n'
        'person = { uk = "Олена Тестова" }\nrole = { uk = "міністерка енергетики" }\n'
        "reconcile_every = 120\n",
        encoding="utf-8",
    )
    app = App(Settings())
    app.store = store
    caplog.set_level(logging.WARNING)
    await apply_sources_file(app, path)
    sources = await store.sources.list()
    assert [(s.username, s.reconcile_every) for s in sources] == [(NEW, 120)]
    assert not app.problems
    assert any("write the new name in the file" in r.getMessage() for r in caplog.records)
