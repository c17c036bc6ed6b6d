"""`wirewatch run` as a real subprocess: SIGTERM exits cleanly in time and loses nothing;
missing credentials degrade the service instead of stopping it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.service.support import free_port, post_line, provision, service_env, start_service
from tests.telethon_seam import session_file

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


async def test_sigterm_while_the_listener_is_still_connecting_exits_0_in_one_line(
    tmp_path: Path,
) -> None:
    """Telegram unreachable: Telethon retries its connection when SIGTERM comes. The stop is
    one line of the listener's and exit code 0, not Telethon's AttributeError."""
    db = tmp_path / "w.db"
    await provision(db)
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        dc_port = refusing.getsockname()[1]
        session_file(str(tmp_path / "w.session"), dc_port)
        port = free_port()
        env = service_env(
            db,
            bot_url=None,
            health_port=port,
            WIREWATCH_TELEGRAM__API_ID="12345",
            WIREWATCH_TELEGRAM__API_HASH="0123456789abcdef0123456789abcdef",
            WIREWATCH_TELEGRAM__SESSION=str(tmp_path / "w.session"),
            WIREWATCH_TELEGRAM__DC_ADDRESS="127.0.0.1",
            WIREWATCH_TELEGRAM__DC_PORT=str(dc_port),
        )
        log_path = tmp_path / "a.log"
        svc = await start_service(env, tmp_path, [], log_path, port)
        try:
            await svc.wait_ready()
            for _ in range(600):
                if "Attempt 1 at connecting failed" in log_path.read_text():
                    break
                await asyncio.sleep(0.05)
        finally:
            code, _ = await svc.terminate()
    log = log_path.read_text()
    assert "Attempt 1 at connecting failed" in log
    assert code == 0, log[-3000:]
    after = log[log.index("stopping (SIGTERM)") :]
    assert "Traceback" not in after and "ERROR" not in after, after
    listener_lines = [line for line in after.splitlines() if "sources.telegram" in line]
    assert len(listener_lines) == 1 and "Telegram listener stopped" in listener_lines[0]
    assert "stopped cleanly" in after
