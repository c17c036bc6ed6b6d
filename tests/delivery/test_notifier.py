"""The notifier against the fake Bot API over real HTTP, with a temp-file SQLite outbox."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.delivery.notifier import Notifier, Pacer, PayloadError, parse_payload
from bot.settings import BotSettings
from storage.models import Person
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

MARK = re.compile(r"alert-(\d+)")


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


def settings(api: FakeBotAPI, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "token": api.token,
        "api_url": api.url,
        "global_rate": 1000.0,
        "chat_interval": 0.0,
        "group_per_minute": 600,
        "retry_after_max": 1,
        "max_attempts": 6,
    }
    values.update(overrides)
    return BotSettings(**values)


def notifier(store: Store, api: FakeBotAPI, **overrides: Any) -> Notifier:
    return Notifier(store, api.bot(), settings(api, **overrides), backoff_base=0.5)


def payload(tag: str, *, parts: int = 1, button: str | None = None) -> dict[str, Any]:
    """A hand-written alert payload in the contract's shape; `tag` lets us find it again."""
    data = button or f"full:{tag}"
    messages: list[dict[str, Any]] = [
        {
            "html": f"<b>Міністр</b> повідомив у Telegram: «Заява {tag}» &amp; більше",
            "buttons": [[{"text": "Повністю", "callback_data": data}]],
        }
    ]
    for part in range(2, parts + 1):
        messages.append({"html": f"<i>Продовження {part}</i> {tag}", "buttons": []})
    return {"messages": messages, "plain": f"Заява {tag}"}


class Outbox:
    """People, one source and posts in a temp store, and a helper to enqueue alerts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.people: list[Person] = []
        self.source_id = 0
        self._message_id = 0
        self._tags = 0
        self.tag: dict[int, int] = {}  # alert id -> the number its text carries

    async def setup(self, people: int, *, first_user_id: int = 1001) -> Outbox:
        src = await self.store.sources.ensure("test_minister")
        self.source_id = src.id
        for n in range(people):
            self.people.append(
                await self.store.people.add(role="journalist", user_id=first_user_id + n)
            )
        return self

    async def post(self) -> int:
        self._message_id += 1
        text = f"Повідомлення номер {self._message_id}"
        post = Post(
            channel="test_minister",
            message_id=self._message_id,
            date=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
            text=text,
        )
        return await self.store.posts.insert(self.source_id, post, text, text)

    async def alert(
        self,
        person: Person,
        *,
        kind: str = "new",
        post_id: int | None = None,
        body: dict[str, Any] | None = None,
        reply_to_alert: int | None = None,
        version: int = 1,
    ) -> int:
        post_id = post_id if post_id is not None else await self.post()
        self._tags += 1
        alert_id = await self.store.alerts.enqueue(
            person_id=person.id,
            post_id=post_id,
            kind=kind,
            version=version,
            payload=body if body is not None else payload(f"alert-{self._tags}"),
            reply_to_alert=reply_to_alert,
        )
        assert alert_id is not None
        if body is None:
            self.tag[alert_id] = self._tags  # the server side can be matched back to the outbox
        return alert_id

    async def follow_up(self, person: Person, kind: str, *, post_id: int, original: int) -> int:
        """A version-2 edit or deletion alert that replies to the `original` alert."""
        return await self.alert(
            person,
            kind=kind,
            post_id=post_id,
            version=2,
            reply_to_alert=original,
            body=payload(kind),
        )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll `check` (which may itself drain the outbox) until it holds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the condition lives in the database
            await asyncio.sleep(0.05)


def delivered_tags(api: FakeBotAPI, chat_id: int) -> list[int]:
    return [
        int(m.group(1)) for msg in api.sent_messages(chat_id) if (m := MARK.search(msg.text or ""))
    ]


@pytest.mark.slow
async def test_burst_of_500_alerts_to_50_people_survives_429_500_and_drops(
    store: Store, fakebot: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.delivery.notifier")
    box = await Outbox(store).setup(50)
    expected: dict[int, list[int]] = {p.user_id or 0: [] for p in box.people}
    for _ in range(10):
        for person in box.people:
            alert_id = await box.alert(person)
            expected[person.user_id or 0].append(box.tag[alert_id])
    # Faults spread over the run: global 429s, one chat flooded twice, 5xx and dropped sockets.
    fakebot.flood(1, times=3)
    fakebot.flood(1, chat_id=1007, times=2)
    fakebot.server_error(times=4)
    fakebot.server_error(chat_id=1020, status=502, times=2)
    fakebot.drop(times=2)
    fakebot.drop(chat_id=1033, times=1)

    n = notifier(store, fakebot)
    stop = asyncio.Event()
    runner = asyncio.create_task(n.run(stop))

    async def all_sent() -> bool:
        return (await store.alerts.counts()) == {"sent": 500}

    try:
        await eventually(all_sent, within=60)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)

    assert fakebot.faults == []  # every programmed fault was hit
    ok_tags = [
        int(m.group(1))
        for r in fakebot.calls("sendMessage", ok=True)
        if (m := MARK.search(r.params["text"]))
    ]
    assert len(ok_tags) == 500 and len(set(ok_tags)) == 500  # all delivered, none twice
    for chat_id, ids in expected.items():
        assert delivered_tags(fakebot, chat_id) == ids  # per-chat order kept
    by_tag = {tag: alert_id for alert_id, tag in box.tag.items()}
    for chat_id, tags in expected.items():
        sent_ids = [m.message_id for m in fakebot.sent_messages(chat_id)]
        stored = [await store.alerts.get(by_tag[t]) for t in tags]
        assert [a.tg_message_id for a in stored if a] == sent_ids
    assert n.sent == 500 and n.failed == 0
    assert n.throttled == 5
    assert n.retried >= 5 + 6 + 3
    assert fakebot.token not in caplog.text
    assert n.last_error is not None and fakebot.token not in n.last_error


async def test_429_waits_for_that_chat_while_others_proceed(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(3)
    slow, *others = box.people
    ids = [await box.alert(p) for p in box.people for _ in range(3)]
    fakebot.flood(1, chat_id=slow.user_id)
    n = notifier(store, fakebot, chat_interval=0.01)
    assert await n.drain_once() == len(ids)
    slow_ok = [r for r in fakebot.calls("sendMessage", ok=True) if r.chat_id == slow.user_id]
    others_ok = [r for r in fakebot.calls("sendMessage", ok=True) if r.chat_id != slow.user_id]
    throttled = fakebot.calls("sendMessage", ok=False)
    assert [r.status for r in throttled] == [429]
    # The other chats were served while the flooded chat sat out its retry_after.
    assert max(r.received_at for r in others_ok) < slow_ok[0].received_at
    assert len(fakebot.sent_messages(slow.user_id)) == 3
    assert n.throttled == 1
    assert [len(fakebot.sent_messages(p.user_id)) for p in others] == [3, 3]


async def test_blocked_person_is_held_and_others_continue(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(3)
    a, blocked, c = box.people
    assert blocked.user_id is not None
    for _ in range(4):
        for person in box.people:
            await box.alert(person)
    fakebot.block(blocked.user_id)
    n = notifier(store, fakebot)
    assert await n.drain_once() == 8
    assert len(fakebot.sent_messages(a.user_id)) == 4
    assert len(fakebot.sent_messages(c.user_id)) == 4
    # One request found out; the rest were held without asking Telegram again.
    assert len([r for r in fakebot.requests if r.chat_id == blocked.user_id]) == 1
    held = await store.alerts.held(blocked.id)
    assert len(held) == 4 and all("blocked" in (h.last_error or "") for h in held)
    row = await store.people.get(blocked.id)
    assert row is not None and not row.reachable
    assert n.held == 4

    # A new alert for the unreachable person is held without a request either.
    await box.alert(blocked)
    assert await n.drain_once() == 0
    assert len([r for r in fakebot.requests if r.chat_id == blocked.user_id]) == 1
    assert len(await store.alerts.held(blocked.id)) == 5

    # They unblock the bot: nothing was lost, and the order is kept.
    fakebot.clear_faults()
    await store.people.set_pref(blocked.id, "reachable", 1)
    await store.alerts.release_person(blocked.id)
    assert await n.drain_once() == 5
    tags = delivered_tags(fakebot, blocked.user_id)
    assert tags == sorted(tags) and len(tags) == 5


async def test_edit_and_delete_reply_to_the_original_alert(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    chat = person.user_id
    assert chat is not None
    await box.alert(person)  # an unrelated earlier alert, so ids are not trivially 1
    post_id = await box.post()
    original = await box.alert(person, post_id=post_id, body=payload("orig", parts=2))
    edit = await box.follow_up(person, "edit", post_id=post_id, original=original)
    delete = await box.follow_up(person, "delete", post_id=post_id, original=original)
    n = notifier(store, fakebot)
    assert await n.drain_once() == 4

    sent = {m.message_id: m for m in fakebot.sent_messages(chat)}
    orig_alert = await store.alerts.get(original)
    assert orig_alert is not None and orig_alert.status == "sent"
    first = sent[orig_alert.tg_message_id or 0]
    assert "orig" in (first.text or "") and first.reply_markup is not None
    continuation = [m for m in sent.values() if "Продовження 2" in (m.text or "")]
    assert len(continuation) == 1
    assert continuation[0].reply_to == first.message_id
    assert continuation[0].reply_markup is None  # only the first message carries buttons
    for follow_up in (edit, delete):
        row = await store.alerts.get(follow_up)
        assert row is not None and row.status == "sent"
        msg = sent[row.tg_message_id or 0]
        assert msg.reply_to == first.message_id
    replies = [r for r in fakebot.calls("sendMessage") if "reply_parameters" in r.params]
    assert all(r.params["reply_parameters"]["allow_sending_without_reply"] for r in replies)
    assert len(replies) == 3


async def test_follow_up_waits_for_an_original_in_backoff(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    post_id = await box.post()
    original = await box.alert(person, post_id=post_id, body=payload("orig"))
    edit = await box.follow_up(person, "edit", post_id=post_id, original=original)
    fakebot.server_error()
    n = notifier(store, fakebot)
    assert await n.drain_once() == 0  # the original is backing off; the edit waits behind it
    assert len(fakebot.calls("sendMessage")) == 1

    async def both_sent() -> bool:
        await n.drain_once()
        rows = [await store.alerts.get(i) for i in (original, edit)]
        return all(r is not None and r.status == "sent" for r in rows)

    await eventually(both_sent, within=20)
    orig_row, edit_row = await store.alerts.get(original), await store.alerts.get(edit)
    assert orig_row is not None and edit_row is not None and orig_row.attempts == 2
    msgs = {m.message_id: m for m in fakebot.sent_messages(person.user_id)}
    assert msgs[edit_row.tg_message_id or 0].reply_to == orig_row.tg_message_id


async def test_follow_up_of_a_failed_original_goes_without_reply(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    post_id = await box.post()
    # A button Telegram refuses (callback data over 64 bytes) fails the original for good.
    broken = payload("orig", button="full:" + "9" * 70)
    original = await box.alert(person, post_id=post_id, body=broken)
    edit = await box.follow_up(person, "edit", post_id=post_id, original=original)
    n = notifier(store, fakebot)
    assert await n.drain_once() == 1
    row = await store.alerts.get(original)
    assert row is not None and row.status == "failed"
    [msg] = fakebot.sent_messages(person.user_id)
    assert "edit" in (msg.text or "") and msg.reply_to is None
    assert "reply_parameters" not in fakebot.calls("sendMessage", ok=True)[0].params
    edit_row = await store.alerts.get(edit)
    assert edit_row is not None and edit_row.status == "sent"


async def test_bad_request_fails_one_alert_and_the_chat_moves_on(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    good1 = await box.alert(person)
    bad_button = await box.alert(person, body=payload("btn", button="full:" + "9" * 70))
    no_messages = await box.alert(person, body={"plain": "x"})
    good2 = await box.alert(person)
    n = notifier(store, fakebot)
    assert await n.drain_once() == 2
    assert delivered_tags(fakebot, person.user_id or 0) == [box.tag[good1], box.tag[good2]]
    rows = {i: await store.alerts.get(i) for i in (bad_button, no_messages)}
    assert all(r is not None and r.status == "failed" for r in rows.values())
    assert "BUTTON_DATA_INVALID" in (rows[bad_button].last_error or "")  # type: ignore[union-attr]
    assert "bad payload" in (rows[no_messages].last_error or "")  # type: ignore[union-attr]
    assert n.failed == 2
    # The malformed payload never reached Telegram.
    assert len(fakebot.calls("sendMessage")) == 3


async def test_formatting_telegram_refuses_costs_the_formatting_not_the_alert(
    store: Store, fakebot: FakeBotAPI
) -> None:
    # "400 Bad Request: can't parse entities" failed the alert for good: the journalist never
    # got the story because of a tag. The words go out as plain text instead, buttons kept.
    box = await Outbox(store).setup(1)
    person = box.people[0]
    chat = person.user_id or 0
    refused = await box.alert(person, body=payload("alert-901", parts=2))
    broken = await box.alert(
        person, body={"messages": [{"html": "ціна < 5 &amp; alert-900", "buttons": []}]}
    )
    fakebot.fail(
        "sendMessage",
        chat_id=chat,
        status=400,
        description="Bad Request: can't parse entities: Unsupported start tag at byte offset 3",
        times=1,
    )
    n = notifier(store, fakebot)
    after_broken = await box.alert(person)
    assert await n.drain_once() == 3
    for alert_id in (broken, refused, after_broken):
        row = await store.alerts.get(alert_id)
        assert row is not None and row.status == "sent", (alert_id, row)
    sent = fakebot.sent_messages(chat)
    # The refused one went as plain text, its buttons and its second message as they were.
    assert sent[0].parse_mode is None and sent[0].reply_markup is not None
    assert sent[0].text == "Міністр повідомив у Telegram: «Заява alert-901» & більше"
    assert "Продовження 2" in (sent[1].text or "") and sent[1].entities
    assert sent[1].reply_to == sent[0].message_id
    # HTML of our own that Telegram cannot read goes the same way.
    assert sent[2].text == "ціна < 5 & alert-900"
    assert delivered_tags(fakebot, chat)[-1] == box.tag[after_broken]
    assert n.failed == 0


async def test_dropped_connection_is_retried_once_more(store: Store, fakebot: FakeBotAPI) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    alert_id = await box.alert(person)
    fakebot.drop()
    n = notifier(store, fakebot)
    before = time.time()
    assert await n.drain_once() == 0
    row = await store.alerts.get(alert_id)
    assert row is not None and row.status == "pending" and row.attempts == 1
    assert row.last_error and "ServerDisconnected" in row.last_error
    # At least the backoff's one second after the failure, wherever in its second it came: due
    # at the next whole second, a drop late in a second was retried, and sent, by the same
    # drain a few milliseconds later (the flake seen under load).
    assert row.next_attempt_at >= before + 1

    async def sent() -> bool:
        await n.drain_once()
        r = await store.alerts.get(alert_id)
        return r is not None and r.status == "sent"

    await eventually(sent, within=20)
    assert [r.status for r in fakebot.calls("sendMessage")] == [0, 200]
    assert delivered_tags(fakebot, person.user_id or 0) == [box.tag[alert_id]]


async def test_a_retry_waits_its_second_even_when_the_machine_stalls(
    store: Store, fakebot: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flake of the test above under load: a retry due "in 1 s" counted from the whole
    second came due as soon as that second ended, so a stall between recording the retry and
    the next read of the outbox had the same drain send it again at once. The wall clock is
    moved (not slept): half-way through a second at the start, then 0.8 s on after the retry
    is recorded, as a loaded machine's stall would."""
    box = await Outbox(store).setup(1)
    person = box.people[0]
    alert_id = await box.alert(person)
    fakebot.drop()
    real = time.time
    ahead = [0.5 - real() % 1]
    monkeypatch.setattr(time, "time", lambda: real() + ahead[0])
    recorded = store.alerts.mark_retry

    async def then_stall(alert: int, next_at: int, error: str) -> None:
        await recorded(alert, next_at, error)
        ahead[0] += 0.8

    monkeypatch.setattr(store.alerts, "mark_retry", then_stall)
    failed_at = time.time()
    n = notifier(store, fakebot)
    assert await n.drain_once() == 0
    row = await store.alerts.get(alert_id)
    assert row is not None and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= failed_at + 1
    assert [r.status for r in fakebot.calls("sendMessage")] == [0]


async def test_server_errors_give_up_after_max_attempts(store: Store, fakebot: FakeBotAPI) -> None:
    box = await Outbox(store).setup(1)
    person = box.people[0]
    alert_id = await box.alert(person)
    fakebot.server_error(times=None)
    n = notifier(store, fakebot, max_attempts=2)

    async def failed() -> bool:
        await n.drain_once()
        r = await store.alerts.get(alert_id)
        return r is not None and r.status == "failed"

    await eventually(failed, within=20)
    row = await store.alerts.get(alert_id)
    assert row is not None and row.attempts == 2 and "gave up" in (row.last_error or "")
    assert len(fakebot.calls("sendMessage")) == 2


async def test_person_without_user_id_is_held_not_sent(store: Store, fakebot: FakeBotAPI) -> None:
    box = await Outbox(store).setup(0)
    pending = await store.people.add(role="journalist", username="new_reporter")
    await box.alert(pending)
    n = notifier(store, fakebot)
    assert await n.drain_once() == 0
    assert fakebot.requests == []
    [held] = await store.alerts.held(pending.id)
    assert "user id" in (held.last_error or "")


async def test_run_wakes_on_new_alerts_and_stops_promptly(
    store: Store, fakebot: FakeBotAPI
) -> None:
    box = await Outbox(store).setup(2)
    first, second = box.people
    n = Notifier(store, fakebot.bot(), settings(fakebot, retry_after_max=60), idle_poll=60)
    stop = asyncio.Event()
    runner = asyncio.create_task(n.run(stop))
    await asyncio.sleep(0.1)  # idle now, with a 60 s poll
    alert_id = await box.alert(first)
    n.wake()
    await fakebot.wait_for(lambda api: bool(api.sent_messages(first.user_id)), within=5)
    assert delivered_tags(fakebot, first.user_id or 0) == [box.tag[alert_id]]

    # A long 429 is in progress for the second person when we stop: run returns promptly and
    # the alert stays in the outbox for next time.
    fakebot.flood(60, chat_id=second.user_id)
    waiting = await box.alert(second)
    n.wake()
    await fakebot.wait_for(lambda api: bool(api.calls("sendMessage", ok=False)), within=5)
    stop.set()
    await asyncio.wait_for(runner, 5)
    row = await store.alerts.get(waiting)
    assert row is not None and row.status == "pending"


def test_pacer_spaces_chats_groups_and_the_bot() -> None:
    t = [100.0]
    pacer = Pacer(global_rate=10, chat_interval=1.0, group_per_minute=20, clock=lambda: t[0])

    def turn(chat_id: int) -> tuple[float, bool]:
        delay, booked = pacer.reserve(chat_id)
        return round(delay, 6), booked

    assert turn(1) == (0, True)
    assert turn(2) == (0.1, True)  # the bot: 10 a second
    assert turn(1) == (1.0, False)  # the chat: 1 a second; nothing booked while it waits
    assert turn(-5) == (0.2, True)
    assert turn(-5) == (3.2, False)  # a group: 20 a minute
    t[0] = 101.0
    assert turn(1) == (0, True)
    t[0] = 110.0
    # 429: the chat waits retry_after, and the whole bot slows down until then...
    pacer.penalize(1, 5.0)
    assert turn(1) == (5.0, False)
    assert turn(3) == (0, True)  # ...but other chats are not queued behind it
    assert turn(4) == (0.2, True)  # at half speed
    assert pacer.slowdown == 2.0
    t[0] = 120.0
    assert turn(1) == (0, True)
    assert pacer.slowdown == 1.0
    assert turn(5) == (0.1, True)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    n = Notifier.__new__(Notifier)
    n.backoff_base, n.backoff_max = 2.0, 60.0
    n.rng = random.Random(7)
    for attempts, ceiling in [(0, 2.0), (1, 4.0), (3, 16.0), (10, 60.0), (500, 60.0)]:
        values = [n.backoff(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len(set(values)) > 1


def test_parse_payload_contract() -> None:
    [msg] = parse_payload(payload("x"))
    assert msg.markup is not None
    assert msg.markup.inline_keyboard[0][0].callback_data == "full:x"
    two = parse_payload(payload("y", parts=2))
    assert two[1].markup is None
    bad: Any
    for bad in ({}, {"messages": []}, {"messages": [{"html": ""}]}, [1], {"messages": [1]}):
        with pytest.raises(PayloadError):
            parse_payload(bad)
    with pytest.raises(PayloadError):
        parse_payload({"messages": [{"html": "x", "buttons": [[{"text": "no action"}]]}]})


def test_delivered_tags_helper_matches_only_tags() -> None:
    # Guards the helper the order assertions rely on.
    assert Counter(MARK.findall("alert-12 and alert-3")) == Counter(["12", "3"])


def test_pacer_chat_burst_then_steady_rate() -> None:
    t = [0.0]
    pacer = Pacer(
        global_rate=1000, chat_interval=1.0, group_per_minute=20, clock=lambda: t[0], chat_burst=3
    )
    # Three back to back, then one per interval: the long-run pace is unchanged.
    assert [pacer.reserve(7)[1] for _ in range(3)] == [True, True, True]
    delay, booked = pacer.reserve(7)
    assert not booked and 0.9 < delay <= 1.0 + 1e-9
    t[0] = 1.0
    assert pacer.reserve(7)[1] is True
    assert pacer.reserve(7)[1] is False
    # A 429 holds the chat for retry_after whatever burst allowance is left.
    t[0] = 100.0
    pacer.penalize(7, 5.0)
    delay, booked = pacer.reserve(7)
    assert not booked and abs(delay - 5.0) < 1e-9
    # Groups never burst.
    assert pacer.reserve(-100)[1] is True
    assert pacer.reserve(-100)[1] is False


async def test_wakes_read_only_new_alerts_not_the_whole_backlog(
    store: Store, fakebot: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of posts while one chat has a backlog: each wake must not re-read the backlog
    (that made ingest quadratic: 2,000 matching posts took minutes to ingest)."""
    box = await Outbox(store).setup(1)
    (person,) = box.people
    for _ in range(150):
        await box.alert(person)
    rows_read: list[int] = []
    real_due = store.alerts.due

    async def counting_due(**kw: Any) -> list[Any]:
        got = await real_due(**kw)
        rows_read.append(len(got))
        return got

    monkeypatch.setattr(store.alerts, "due", counting_due)
    # One message a minute to this chat: the backlog stays in the outbox for the whole test.
    n = Notifier(store, fakebot.bot(), settings(fakebot, chat_interval=60.0), idle_poll=60)
    stop = asyncio.Event()
    runner = asyncio.create_task(n.run(stop))
    await fakebot.wait_for(lambda api: bool(api.sent_messages(person.user_id)), within=5)
    before = sum(rows_read)
    for _ in range(40):  # 40 posts arrive, each waking the notifier
        await box.alert(person)
        n.wake()
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, 5)
    # Incremental reads: about one row per wake, not the 150-alert backlog each time.
    assert sum(rows_read) - before < 150


async def test_a_stale_batch_read_never_sends_twice(store: Store, fakebot: FakeBotAPI) -> None:
    """The race the worker's re-read guards against, staged: a full sweep read rows as pending,
    then other work settled them (one sent, one held by an editor) before the sweep's workers
    got to them. Dispatching the stale rows must send nothing."""
    box = await Outbox(store).setup(2)
    sent_first, held_later = box.people
    first = await box.alert(sent_first)
    second = await box.alert(held_later)
    n = notifier(store, fakebot)
    stale = await store.alerts.due(limit=10)
    assert {a.id for a in stale} == {first, second}
    # Meanwhile: alert `first` goes out; the second person's alerts are held.
    only_first = [a for a in stale if a.id == first]
    n._dispatch(only_first)
    await n._join()
    assert await store.alerts.hold_person(held_later.id, "alerts paused") == 1
    # The sweep that read `stale` now hands its rows to the workers.
    n._dispatch(stale)
    await n._join()
    assert delivered_tags(fakebot, sent_first.user_id or 0) == [box.tag[first]]
    assert delivered_tags(fakebot, held_later.user_id or 0) == []
    row = await store.alerts.get(second)
    assert row is not None and row.status == "held"


async def test_answer_lost_after_telegram_accepted_is_not_lost_nor_failed(
    store: Store, fakebot: FakeBotAPI
) -> None:
    """Telegram took the message but its answer never came: the notifier cannot know, so it sends
    again (at least once, never zero times); the alert ends sent, pointing at a message the
    person has, with exactly one duplicate."""
    box = await Outbox(store).setup(1)
    person = box.people[0]
    alert_id = await box.alert(person)
    fakebot.drop_after_accept()
    n = notifier(store, fakebot)

    async def sent() -> bool:
        await n.drain_once()
        r = await store.alerts.get(alert_id)
        return r is not None and r.status == "sent"

    await eventually(sent, within=20)
    row = await store.alerts.get(alert_id)
    assert row is not None
    messages = fakebot.sent_messages(person.user_id or 0)
    assert [int(m.group(1)) for msg in messages if (m := MARK.search(msg.text or ""))] == [
        box.tag[alert_id]
    ] * 2
    assert row.tg_message_id == messages[-1].message_id
