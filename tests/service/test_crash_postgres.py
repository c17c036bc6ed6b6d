"""Crash safety across processes on one PostgreSQL: two listener processes (each following its
own feed of 100 channels) and two notifier processes, SIGKILLed at random 20 times while posts
keep arriving, each restarted at once. At the end every post is stored once, every alert was
delivered, and the duplicates are at most one per kill (counted exactly, as in test_crash.py:
the fake Bot API keeps every message it accepted; a message no alert points to is a repeat).

The listeners here read feeds; tests/service/test_crash_accounts.py runs them as two Telegram
accounts. Bounded for `make test`; WIREWATCH_CRASH_FULL=1 runs 2,000 posts in 200 channels with
20 SIGKILLs (WIREWATCH_CRASH_POSTS / _CHANNELS / _KILLS set each).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from datetime import timedelta
from pathlib import Path

import pytest

from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.service.support import (
    START,
    Service,
    free_port,
    provision,
    service_env,
    start_service,
)
from tests.service.test_crash import READY_WITHIN, crash_seed

FULL = os.environ.get("WIREWATCH_CRASH_FULL") == "1"
KILLS = int(os.environ.get("WIREWATCH_CRASH_KILLS", 20 if FULL else 10))
CHANNELS = int(os.environ.get("WIREWATCH_CRASH_CHANNELS", 200 if FULL else 100))
POSTS = int(os.environ.get("WIREWATCH_CRASH_POSTS", 2000 if FULL else 1000))  # fixed work
BURST = 20  # posts appended per step of the writers
STEP = 0.2  # seconds between steps: ~100 posts/s over both feeds
PEOPLE = (6001, 6002)
DELIVER_WITHIN = 120.0 + 0.05 * POSTS * len(PEOPLE)
TIMEOUT = int(KILLS * (READY_WITHIN + 5) + POSTS / BURST * STEP + DELIVER_WITHIN + 120)


def _line(n: int) -> str:
    channel = f"oblast_{n % CHANNELS:03d}_demo"
    when = START + timedelta(seconds=n)
    text = f"Зведення {n}: енергосистема району працює, бригади відновили лінію {n % 9 + 1}."
    return json.dumps(
        {"channel": channel, "id": n, "date": when.isoformat(), "text": text},
        ensure_ascii=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
async def test_sigkill_of_listeners_and_notifiers_loses_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    seed = crash_seed()
    rng = random.Random(seed)
    print(f"crash test seed {seed} (set WIREWATCH_CRASH_SEED to replay)")
    await provision(pg_url, people=PEOPLE)
    feeds = [tmp_path / "feed-a.jsonl", tmp_path / "feed-b.jsonl"]
    for feed in feeds:
        feed.touch()
    async with FakeBotAPI() as fakebot:
        # (role, feeds): two listeners with a feed each, two notifiers.
        roles = [
            ("listener", [feeds[0]]),
            ("listener", [feeds[1]]),
            ("notifier", []),
            ("notifier", []),
        ]
        ports = [free_port() for _ in roles]
        runs = [0] * len(roles)

        async def start(i: int) -> Service:
            role, its_feeds = roles[i]
            env = service_env(Path("unused"), bot_url=fakebot.url, health_port=ports[i])
            env["WIREWATCH_DB"] = pg_url
            runs[i] += 1
            log = tmp_path / f"{role}{i}-{runs[i]}.log"
            svc = await start_service(env, tmp_path, its_feeds, log, ports[i], role=role)
            return svc

        written = 0

        async def writer() -> None:
            nonlocal written
            outs = [f.open("a", encoding="utf-8") for f in feeds]
            try:
                while written < POSTS:
                    for _ in range(BURST):
                        written += 1
                        # Channels split between the feeds: each listener owns half of them.
                        out = outs[(written % CHANNELS) % 2]
                        out.write(_line(written) + "\n")
                    for out in outs:
                        out.flush()
                    await asyncio.sleep(STEP)
            finally:
                for out in outs:
                    out.close()

        services = [await start(i) for i in range(len(roles))]
        writer_task = asyncio.create_task(writer())
        kills = 0
        try:
            for svc in services:
                await svc.wait_ready(within=READY_WITHIN)
            for _ in range(KILLS):
                await asyncio.sleep(rng.uniform(0.3, 2.0))
                victim = rng.randrange(len(services))
                await services[victim].kill()
                kills += 1
                services[victim] = await start(victim)
                if rng.random() < 0.8:  # some kills land on a process still starting
                    await services[victim].wait_ready(within=READY_WITHIN)
            await writer_task
            for svc in services:
                await svc.wait_ready(within=READY_WITHIN)
            total = POSTS * len(PEOPLE)
            await _until_sent(pg_url, total, DELIVER_WITHIN)
        finally:
            writer_task.cancel()
            for svc in services:
                await svc.terminate()

        store = await Store.open(pg_url)
        try:
            assert await store.posts.count() == POSTS, "posts lost or doubled"
            recorded: dict[int, set[int]] = {}
            for user_id in PEOPLE:
                person = await store.people.by_user_id(user_id)
                assert person is not None
                alerts = await store.alerts.for_person(person.id, limit=POSTS * 3)
                assert len(alerts) == POSTS  # one alert per post, none doubled in the outbox
                assert all(a.status == "sent" for a in alerts), "alerts not delivered"
                recorded[user_id] = {a.tg_message_id or 0 for a in alerts}
        finally:
            await store.close()
        duplicates = 0
        for user_id in PEOPLE:
            messages = {m.message_id for m in fakebot.sent_messages(user_id)}
            assert recorded[user_id] <= messages, "marked sent, never received"
            duplicates += len(messages) - len(recorded[user_id])
        print(
            f"postgres crash test: {kills} SIGKILLs over 2 listeners and 2 notifiers, {POSTS} "
            f"posts in {CHANNELS} channels, {POSTS * len(PEOPLE)} alerts, {duplicates} "
            "duplicates, 0 lost"
        )
        assert duplicates <= kills


async def _until_sent(url: str, total: int, within: float) -> None:
    store = await Store.open(url)
    try:
        async with asyncio.timeout(within):
            while (await store.alerts.counts()).get("sent", 0) < total:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
    finally:
        await store.close()
