"""A followed channel renamed on Telegram: the editors and admins get one short message in
their own language saying which source is called what now, and which sources file entry still
uses the old name; journalists get their alerts only. Once: the listener seeing the rename
again, or the service starting again, tells nobody twice. Telethon's own client (the seam)
sees the rename; the notices go out over real HTTP to the fake Bot API; both back ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from bot.service.sources import tell_renamed
from sources.telegram.listener import Listener
from storage.store import Store
from tests.delivery.test_group_upgrade_alerts import notifier
from tests.fakebot import FakeBotAPI, fakebot
from tests.sources.test_telegram import MINISTRY, desk, energy_text
from tests.sources.test_telegram_listen import listening
from tests.telethon_seam import FakeTelegram

__all__ = ["fakebot"]
OLD, NEW = "energy_ministry_ua", "energy_ministry_new"
JOURNALIST, EDITOR, ADMIN = 424242, 9001, 9002


def notices(api: FakeBotAPI, chat: int) -> list[str]:
    """What the chat got that is not an alert (alerts quote a post and end with its rule)."""
    return [
        m.text
        for m in api.sent_messages(chat)
        if "Rule:" not in m.text and "Правило" not in m.text
    ]


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


async def renamed_while_listening(
    store: Store, sources_file: Path | None
) -> tuple[FakeTelegram, Listener]:
    fake = FakeTelegram()
    fake.add_channel(OLD, MINISTRY, "Міністерство енергетики (тест)")
    await desk(store)
    await store.people.add(role="editor", user_id=EDITOR, lang="en")
    await store.people.add(role="admin", user_id=ADMIN, lang="ru")
    ch = fake.channels[MINISTRY]
    fake.post(ch, 1, energy_text(1))
    listener, client, _ = await listening(store, fake)
    listener.on_renamed = partial(tell_renamed, store, sources_file)
    await listener.start()
    ch.entity.username = NEW
    await client.dispatch(fake.channel_update(ch))
    await client.dispatch(fake.channel_update(ch))  # Telegram may say it again
    await client.dispatch(fake.new_update(ch, fake.message(ch, 2, energy_text(2))))
    return fake, listener


async def test_the_desk_is_told_once_in_its_language_which_source_was_renamed(
    store: Store, fakebot: FakeBotAPI, tmp_path: Path
) -> None:
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text(
        f'[[source]]\nusername = "{OLD}"\nperson = {{ uk = "Олена Тестова" }}\n',
        encoding="utf-8",
    )
    _, listener = await renamed_while_listening(store, sources_file)
    await notifier(store, fakebot).drain_once()

    editor = notices(fakebot, EDITOR)
    assert editor == [
        f"The channel @{OLD} is called @{NEW} on Telegram now: it is followed under the new "
        f"name, with its archive and rules. The sources file {sources_file} still lists "
        f"@{OLD}: write @{NEW} there."
    ]
    admin = notices(fakebot, ADMIN)
    assert len(admin) == 1
    assert admin[0].startswith(f"Канал @{OLD} теперь называется в Telegram @{NEW}")
    assert f"В файле источников {sources_file}" in admin[0]
    # Everyone gets the alerts, linking to the new name; a journalist no notice.
    journalist = [m.text for m in fakebot.sent_messages(JOURNALIST)]
    assert journalist and f"t.me/{NEW}/" in journalist[-1]
    assert notices(fakebot, JOURNALIST) == []

    # Seen again (another re-read, a restart: the listener is told of the channel anew), it is
    # not told again.
    src = await store.sources.by_username(NEW)
    assert src is not None
    await listener.on_renamed(replace(src, username=OLD), NEW, True)
    assert await notifier(store, fakebot).drain_once() == 0
    assert len(notices(fakebot, EDITOR)) == 1


async def test_a_rename_onto_a_name_another_source_has_is_told_as_such(
    store: Store, fakebot: FakeBotAPI
) -> None:
    await store.sources.upsert(NEW)  # followed already, as another source
    await renamed_while_listening(store, None)
    await notifier(store, fakebot).drain_once()
    editor = notices(fakebot, EDITOR)
    assert editor == [
        f"The channel @{OLD} is called @{NEW} on Telegram now, but another source here already "
        f"has the name @{NEW}: @{OLD} is still followed, and its links use the old name until "
        "one of the two is unwatched (/unwatch)."
    ]
