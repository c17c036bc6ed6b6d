"""`wirewatch run` as a real subprocess: SIGTERM exits cleanly in time and loses nothing;
missing credentials degrade the service instead of stopping it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.service.support import free_port, post_line, provision, service_env, start_service

CHAT = 5001


def write_feed(path: Path, first: int, last: int) -> None:
    with path.open("a", encoding="utf-8") as out:
        for n in range(first, last + 1):
            out.write(post_line(n) + "\n")


@pytest.mark.slow
async def test_sigterm_mid_delivery_exits_cleanly_and_loses_nothing(tmp_path: Path) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db, people=(CHAT,))
    write_feed(feed, 1, 30)
    port = free_port()
    async with FakeBotAPI() as api:
        # Paced sends (0.15 s per message to one chat): SIGTERM lands while alerts are queued.
        env = service_env(
            db, bot_url=api.url, health_port=port, WIREWATCH_BOT__CHAT_INTERVAL="0.15"
        )
        svc = await start_service(env, tmp_path, [feed], tmp_path / "a.log", port)
        try:
            await svc.wait_ready()
            await svc.wait_for(lambda b: b.get("notifier", {}).get("sent", 0) >= 3, within=60)
        finally:
            code, took = await svc.terminate()
        log = (tmp_path / "a.log").read_text()
        assert code == 0, log[-3000:]
        assert took < 10
        assert "stopped cleanly" in log
        sent_first = len(api.sent_messages(CHAT))
        assert 0 < sent_first < 30, "SIGTERM should have landed mid-delivery"

        svc = await start_service(env, tmp_path, [feed], tmp_path / "b.log", port)
        try:
            await svc.wait_ready()
            await svc.wait_for(lambda b: b.get("outbox", {}).get("sent") == 30, within=60)
        finally:
            code, _ = await svc.terminate()
        assert code == 0
        # A clean stop finishes the message in flight: nothing is sent twice.
        assert len(api.sent_messages(CHAT)) == 30

    store = await Store.open(db)
    try:
        assert await store.db.integrity_check() == "ok"
        assert await store.posts.count() == 30
        assert (await store.alerts.counts()) == {"sent": 30}
    finally:
        await store.close()


STALL = 120.0  # seconds a send hangs in the stalled-send test


@pytest.mark.slow
async def test_sigterm_with_a_stalled_send_exits_in_time_and_keeps_the_alert(
    tmp_path: Path,
) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db, people=(CHAT,))
    write_feed(feed, 1, 1)
    port = free_port()
    async with FakeBotAPI() as api:
        # Telegram hangs on the first sends far longer than any shutdown may take: only the
        # shutdown budget (8 s in the service) can end the run before the stall does. The
        # bound checked is the stall, not the budget, so a loaded machine does not fail it.
        api.stall(STALL, times=5)
        env = service_env(db, bot_url=api.url, health_port=port)
        svc = await start_service(env, tmp_path, [feed], tmp_path / "a.log", port)
        try:
            await svc.wait_ready()
            await svc.wait_for(lambda b: b.get("notifier", {}).get("in_flight", 0) >= 1)
            await asyncio.sleep(0.3)
        finally:
            code, took = await svc.terminate(within=STALL / 4)
        assert code == 0, (tmp_path / "a.log").read_text()[-3000:]
        assert took < STALL / 4
    store = await Store.open(db)
    try:
        assert await store.posts.count() == 1
        # Never confirmed, so never marked sent: the next start sends it.
        assert (await store.alerts.counts()) == {"pending": 1}
    finally:
        await store.close()


async def test_without_credentials_it_ingests_and_keeps_alerts_waiting(tmp_path: Path) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db, people=(CHAT,))
    write_feed(feed, 1, 5)
    port = free_port()
    env = service_env(db, bot_url=None, health_port=port)
    svc = await start_service(env, tmp_path, [feed], tmp_path / "a.log", port)
    try:
        await svc.wait_ready()
        # Stored, queued, and drafted by the drafter's task just after each commit.
        body = await svc.wait_for(
            lambda b: b.get("posts") == 5 and b.get("outbox") == {"pending": 5}
        )
        status = await svc.health()
        assert status is not None and status[0] == 200
    finally:
        code, took = await svc.terminate()
    assert code == 0 and took < 10
    assert body["status"] == "degraded"
    reasons = " ".join(body["degraded"])
    assert "no bot token" in reasons and "no Telegram API credentials" in reasons
    assert body["bot"] == "disabled" and body["listener"] == "disabled"
    assert body["outbox"] == {"pending": 5}
    log = (tmp_path / "a.log").read_text()
    assert "degraded: no bot token" in log
