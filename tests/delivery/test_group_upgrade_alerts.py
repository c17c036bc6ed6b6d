"""Alerts to a group chat that Telegram upgrades to a supergroup (a new chat id; the old one
answers 400 with `migrate_to_chat_id`). Nothing is lost: the chat's row follows it, the alert
Telegram refused goes to the new id at once and so does everything queued after it; an update
to a story sent before the upgrade does not reply to whatever message has that id in the new
chat. Over real HTTP to the fake Bot API, on both back ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.delivery.notifier import Notifier
from bot.settings import BotSettings
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]
OLD = -4_002
NEW = -1_000_000_004_002
ADMIN = 7001


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


class Desk:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.person_id = 0
        self.post_id = 0

    async def setup(self) -> Desk:
        src = await self.store.sources.ensure("water_utility")
        self.person_id = (await self.store.people.add(role="journalist", user_id=OLD)).id
        post = Post("water_utility", 12, datetime(2026, 3, 5, tzinfo=UTC))
        self.post_id = await self.store.posts.insert(src.id, post, "", "")
        return self

    async def alert(self, html: str, *, version: int = 1, reply_to: int | None = None) -> int:
        alert_id = await self.store.alerts.enqueue(
            person_id=self.person_id,
            post_id=self.post_id,
            kind="new" if reply_to is None else "edit",
            version=version,
            payload={"messages": [{"html": html}], "plain": html},
            reply_to_alert=reply_to,
        )
        assert alert_id is not None
        return alert_id


def notifier(store: Store, api: FakeBotAPI) -> Notifier:
    values: dict[str, Any] = {
        "token": api.token,
        "api_url": api.url,
        "global_rate": 1000.0,
        "chat_interval": 0.0,
        "group_per_minute": 60_000,
    }
    return Notifier(store, api.bot(), BotSettings(**values), backoff_base=0.01)


async def test_alerts_to_an_upgraded_group_follow_it_to_its_new_id(
    store: Store, fakebot: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    desk = await Desk(store).setup()
    story = await desk.alert("<b>Водоканал</b>: тиск у мережі знижено до ранку.")
    assert await notifier(store, fakebot).drain_once() == 1
    # An admin of the group changes a setting only a supergroup has; Telegram upgrades it
    # and the bot hears of it first from the 400 answering its next alert.
    await fakebot.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
    second = await desk.alert("<b>Водоканал</b>: аварійні бригади на трьох вулицях.", version=2)
    update = await desk.alert(
        "<b>Оновлено</b>: тиск відновлять о 6:00.", version=3, reply_to=story
    )

    n = notifier(store, fakebot)
    assert await n.drain_once() == 2
    assert n.failed == 0

    arrived = fakebot.sent_messages(NEW)
    assert [m.text for m in arrived] == [
        "Водоканал: аварійні бригади на трьох вулицях.",
        "Оновлено: тиск відновлять о 6:00.",
    ]
    # The story is in the old chat: the update is not a reply to the new chat's message 1.
    assert arrived[1].reply_to is None
    for alert_id in (second, update):
        row = await store.alerts.get(alert_id)
        assert row is not None and row.status == "sent"
    person = await store.people.get(desk.person_id)
    assert person is not None and person.user_id == NEW
    assert sum("upgraded to a supergroup" in r.getMessage() for r in caplog.records) == 1
