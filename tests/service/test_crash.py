"""Crash safety, proven: `wirewatch run --feed` is killed with SIGKILL at random moments while
posts keep arriving, restarted each time, and at the end every post is stored, every alert was
delivered, duplicates are at most one per crash, and SQLite's integrity check is clean.

Duplicates are measured exactly: the fake Bot API keeps every message it accepted, and the
outbox records the Telegram message id of each alert it marked sent. A message no alert points
to is a repeat: Telegram took it, the process died before recording that, and the alert was
sent again after the restart.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.service.support import (
    CHANNEL,
    free_port,
    post_line,
    provision,
    service_env,
    start_service,
)

KILLS = 20
POSTS = 120  # fixed work: the writer stops after this many, however slow the machine is
POST_EVERY = 0.15  # seconds between posts appended to the feed: a steady ~7 posts/s
CHAT = 5001
SEED_VARIABLE = "WIREWATCH_CRASH_SEED"
# Limits scale with the work, never with the clock of a quiet machine: a start-up may take
# half a minute on a loaded CI box, and delivering every post after the last start a second each.
READY_WITHIN = 90.0
DELIVER_WITHIN = 60.0 + 1.0 * POSTS
TIMEOUT = int(KILLS * (READY_WITHIN + 3) + POSTS * POST_EVERY + DELIVER_WITHIN + 60)


def crash_seed() -> int:
    """The seed to replay (WIREWATCH_CRASH_SEED, kept by conftest), else a fresh one."""
    value = os.environ.get(SEED_VARIABLE)
    return int(value) if value else time.time_ns() % 1_000_000


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
async def test_sigkill_loop_loses_nothing(tmp_path: Path) -> None:
    async with FakeBotAPI() as fakebot:
        await _crash_loop(tmp_path, fakebot)


def test_crash_seed_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SEED_VARIABLE, "4711")
    assert crash_seed() == 4711


def test_conftest_keeps_the_crash_seed() -> None:
    """conftest clears the operator's WIREWATCH_* settings; the test's own seed must survive,
    or a failing crash run could never be replayed."""
    import subprocess
    import sys

    env = {**os.environ, SEED_VARIABLE: "4711", "WIREWATCH_DB": "/nonexistent/operator.db"}
    probe = (
        "import os, tests.conftest; "
        f"print(os.environ.get('{SEED_VARIABLE}'), os.environ.get('WIREWATCH_DB'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4711", "None"]


async def _crash_loop(tmp_path: Path, fakebot: FakeBotAPI) -> None:
    seed = crash_seed()
    rng = random.Random(seed)
    print(f"crash test seed {seed} (set WIREWATCH_CRASH_SEED to replay)")
    db = tmp_path / "wirewatch.db"
    feed = tmp_path / "feed.jsonl"
    feed.touch()
    await provision(db, people=(CHAT,))
    port = free_port()
    env = service_env(db, bot_url=fakebot.url, health_port=port)

    written = 0
    writing = asyncio.Event()
    writing.set()

    async def writer() -> None:
        # Appends whole lines at a steady rate, whatever the service is doing, up to POSTS.
        nonlocal written
        with feed.open("a", encoding="utf-8") as out:
            while writing.is_set() and written < POSTS:
                written += 1
                out.write(post_line(written) + "\n")
                out.flush()
                await asyncio.sleep(POST_EVERY)

    writer_task = asyncio.create_task(writer())
    kills = 0
    during_start = 0
    try:
        for run in range(KILLS):
            svc = await start_service(env, tmp_path, [feed], tmp_path / f"run{run}.log", port)
            if rng.random() < 0.2:
                # Some kills land during start-up: imports, migrations, the first batch.
                await asyncio.sleep(rng.uniform(0.05, 2.5))
                during_start += 1
            else:
                await svc.wait_ready(within=READY_WITHIN)
                await asyncio.sleep(rng.uniform(0.05, 1.5))
            await svc.kill()
            assert svc.proc.returncode == -9, f"run {run} ended by itself"
            kills += 1
        await writer_task  # the rest of the fixed work, if the kills were quicker than the writer
    finally:
        writing.clear()
        await writer_task

    total = written
    assert total == POSTS
    final = await start_service(env, tmp_path, [feed], tmp_path / "final.log", port)
    try:
        await final.wait_ready(within=READY_WITHIN)
        body = await final.wait_for(
            lambda b: b.get("posts") == total and b.get("outbox", {}).get("sent") == total,
            within=DELIVER_WITHIN,
        )
        assert body["status"] == "degraded" or body["status"] == "ok"
    finally:
        code, took = await final.terminate()
    assert code == 0, (tmp_path / "final.log").read_text()[-3000:]
    assert took < READY_WITHIN  # a clean stop, with room for a loaded machine

    store = await Store.open(db)
    try:
        assert await store.db.integrity_check() == "ok"
        stored = {p.message_id for p in await store.posts.recent(limit=total + 10)}
        assert stored == set(range(1, total + 1)), "posts lost"
        alerts = await store.alerts.for_person(1, limit=total * 3)
        assert len(alerts) == total  # one alert per post, none doubled in the outbox
        assert all(a.status == "sent" for a in alerts), "alerts not delivered"
        recorded = {a.tg_message_id for a in alerts}
        posts = {p.id: p for p in await store.posts.many([a.post_id or 0 for a in alerts])}
    finally:
        await store.close()

    messages = {m.message_id: m for m in fakebot.sent_messages(CHAT)}
    assert recorded <= set(messages), "an alert is marked sent but Telegram never got it"
    for alert in alerts:
        post = posts[alert.post_id or 0]
        raw = messages[alert.tg_message_id or 0].raw or ""
        assert f"t.me/{CHANNEL}/{post.message_id}" in raw, "alert delivered with another post"
    duplicates = len(messages) - len(recorded)
    print(
        f"crash test: {kills} SIGKILLs ({during_start} during start-up), {total} posts, "
        f"{len(recorded)} alerts delivered, {duplicates} duplicate messages, 0 lost"
    )
    assert kills >= 20
    assert duplicates <= kills
