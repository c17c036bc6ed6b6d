"""A long text alert goes out as several messages (the draft split at Telegram's limit, the first
with the buttons, the rest replying to it). A restart in the middle of one, over real HTTP to
the fake Bot API, on both back ends: the journalist gets each part once, in order, in its thread,
never the whole alert a second time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.delivery.notifier import Notifier
from bot.settings import BotSettings
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, Message, fakebot

__all__ = ["fakebot"]
USER = 5101
PARTS = [
    "<b>Міненерго</b>: графіки відключень на завтра не застосовуватимуть.",
    "Резерв потужності відновлено після ремонту двох блоків.",
    "Споживачів просять не вмикати потужні прилади ввечері.",
    "Наступне оновлення обіцяють о 18:00.",
]


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


async def long_alert(store: Store) -> int:
    src = await store.sources.ensure("energy_ministry")
    person = await store.people.add(role="journalist", user_id=USER)
    post = Post(channel="energy_ministry", message_id=31, date=datetime(2026, 3, 4, tzinfo=UTC))
    post_id = await store.posts.insert(src.id, post, "", "")
    button = [[{"text": "Повністю", "callback_data": "full:1"}]]
    messages: list[dict[str, Any]] = [{"html": PARTS[0], "buttons": button}]
    messages += [{"html": html} for html in PARTS[1:]]
    alert_id = await store.alerts.enqueue(
        person_id=person.id,
        post_id=post_id,
        kind="new",
        version=1,
        payload={"messages": messages, "plain": " ".join(PARTS)},
    )
    assert alert_id is not None
    return alert_id


def notifier(store: Store, api: FakeBotAPI, **extra: Any) -> Notifier:
    values: dict[str, Any] = {
        "token": api.token,
        "api_url": api.url,
        "global_rate": 1000.0,
        "chat_interval": 0.0,
        "retry_after_max": 1,
    }
    values.update(extra)
    return Notifier(store, api.bot(), BotSettings(**values), backoff_base=0.01)


def phone(api: FakeBotAPI) -> list[Message]:
    return api.sent_messages(USER)


async def drain_until_sent(store: Store, n: Notifier, alert_id: int) -> None:
    for _ in range(50):
        await n.drain_once()
        row = await store.alerts.get(alert_id)
        if row is not None and row.status != "pending":
            return
        await asyncio.sleep(0.1)


def read_as_the_journalist(api: FakeBotAPI) -> None:
    """Each part once, in order; the first carries the buttons, the rest reply to it."""
    first, *rest = phone(api)
    assert [m.raw for m in phone(api)] == PARTS
    assert first.reply_markup is not None
    assert all(m.reply_to == first.message_id for m in rest)


async def test_a_restart_midway_through_a_long_alert_sends_only_the_rest(
    store: Store, fakebot: FakeBotAPI
) -> None:
    alert_id = await long_alert(store)
    # Telegram takes two parts, then answers the third with a 502; the service restarts
    # before the retry (a deploy, a crash): the new notifier knows only what the row says.
    fakebot.server_error("sendMessage", chat_id=USER, status=502).after = 2
    assert await notifier(store, fakebot).drain_once() == 0
    assert len(phone(fakebot)) == 2

    await drain_until_sent(store, notifier(store, fakebot), alert_id)

    read_as_the_journalist(fakebot)
    row = await store.alerts.get(alert_id)
    assert row is not None and (row.status, row.tg_message_id) == (
        "sent",
        phone(fakebot)[0].message_id,
    )


async def test_a_stop_while_a_later_part_waits_out_a_429_is_prompt_and_resumes(
    store: Store, fakebot: FakeBotAPI
) -> None:
    alert_id = await long_alert(store)
    # A long flood wait on the second part, and the service is told to stop: the first part
    # is on record, so the stop need not wait the flood out (the unit's stop timeout would
    # kill it mid-alert), and the restart sends the second part on, not the first again.
    fakebot.flood(60, method="sendMessage", chat_id=USER).after = 1
    first = notifier(store, fakebot, retry_after_max=60)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    await fakebot.wait_for(lambda api: any(r.status == 429 for r in api.requests))
    stop.set()
    async with asyncio.timeout(20):  # a third of the flood wait
        await running
    assert len(phone(fakebot)) == 1
    fakebot.clear_faults()

    await drain_until_sent(store, notifier(store, fakebot), alert_id)

    read_as_the_journalist(fakebot)


async def test_a_block_midway_holds_the_alert_whole_for_the_digest(
    store: Store, fakebot: FakeBotAPI
) -> None:
    alert_id = await long_alert(store)
    fakebot.fail("sendMessage", chat_id=USER, status=403, after=1)
    assert await notifier(store, fakebot).drain_once() == 0
    # Parked alerts come back as one digest when the person writes again: this one starts
    # over there, not as parts replying to a message the digest does not show.
    row = await store.alerts.get(alert_id)
    assert row is not None
    assert (row.status, row.tg_message_id, row.parts_sent) == ("held", None, 0)
