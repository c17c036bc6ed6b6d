"""Stopping the listener (`wirewatch run` on SIGTERM) whatever its connection is doing: one line
in the log, no traceback, `run` returns. Telethon's own client and sender where the connection
matters (a real TelegramClient whose data centre refuses connections), the seam elsewhere."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.ingest.pipeline import Pipeline
from bot.service.jobs import guarded
from bot.settings import JobSettings, TelegramSettings
from sources.telegram.listener import Listener
from storage.store import Store
from tests.sources.test_telegram import MINISTRY, quiet_text
from tests.telethon_seam import FakeTelegram, SeamClient, unreachable_client


class Parked:
    """The listener's clock for a back-off that would last minutes: it never ends by itself."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.Event().wait()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local port bound but not listening: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield int(sock.getsockname()[1])
    sock.close()


async def until(cond: Callable[[], bool]) -> None:
    for _ in range(2000):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never met")


def listener_of(store: Store, client: Any, sleep: Any) -> Listener:
    settings = TelegramSettings(request_pause=0.0)
    return Listener(client, store, Pipeline(store).handle, settings, JobSettings(), sleep=sleep)


async def stop_and_check(
    listener: Listener, task: asyncio.Task[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Stop, see the task end on its own, and the stop logged as one line and nothing else."""
    caplog.clear()
    await listener.stop()
    # A bound, not a timing: a listener that ignores the stop never ends.
    await asyncio.wait_for(task, 30)
    assert task.exception() is None
    ours = [r for r in caplog.records if r.name.startswith(("sources.", "bot."))]
    assert [r.getMessage() for r in ours if r.levelno >= logging.INFO] == [ours[-1].getMessage()]
    assert ours[-1].getMessage().startswith("Telegram listener stopped")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_stop_while_telethon_is_still_connecting(
    store: Store, refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="telethon")  # its attempts show where it is
    client = unreachable_client(refused_port, retries=100)
    listener = listener_of(store, client, asyncio.sleep)
    task = asyncio.create_task(listener.run())
    await until(lambda: "Attempt 1 at connecting failed" in caplog.text)
    await stop_and_check(listener, task, caplog)
    assert not client.is_connected()


async def test_stop_while_backing_off_between_connection_attempts(
    store: Store, refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = unreachable_client(refused_port, retries=0, delay=0)
    sleeps = Parked()
    listener = listener_of(store, client, sleeps)
    task = asyncio.create_task(listener.run())
    await until(lambda: bool(sleeps.calls))  # Telethon gave up; the listener waits to retry
    await stop_and_check(listener, task, caplog)


async def _dropped(store: Store) -> tuple[Listener, SeamClient, FakeTelegram, Parked]:
    """The ministry's channel with posts to catch up, on a line about to drop."""
    fake = FakeTelegram()
    ch = fake.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
    for i in range(1, 6):
        fake.post(ch, i, quiet_text(i))
    await store.sources.ensure("energy_ministry_ua")
    client = SeamClient(fake)
    sleeps = Parked()
    return listener_of(store, client, sleeps), client, fake, sleeps


async def test_stop_mid_catch_up_while_the_line_is_down(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    listener, _, fake, sleeps = await _dropped(store)
    fake.fail(lambda req: None)  # get_me
    fake.fail(lambda req: None)  # the resolve
    fake.drop_connection()  # the history request finds the line dead
    task = asyncio.create_task(listener.run())
    await until(lambda: bool(sleeps.calls))  # the request waits to be tried again
    await stop_and_check(listener, task, caplog)


async def test_stop_mid_reconciliation_while_the_line_is_down(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    listener, client, fake, sleeps = await _dropped(store)
    await client.connect()
    await listener.start()
    fake.drop_connection()
    job = asyncio.create_task(guarded("reconcile", listener.reconcile_due)())
    await until(lambda: bool(sleeps.calls))
    await stop_and_check(listener, job, caplog)


async def test_a_session_without_a_sign_in_is_said_once_and_waits_for_the_stop(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A `login` left at the code prompt leaves a session Telegram does not know as signed in.
    `run` failed the listener with a traceback and restarted it every minute, though `login`
    cannot sign in while `run` holds the session."""
    caplog.set_level(logging.INFO)
    listener, _, fake, _ = await _dropped(store)
    fake.authorized = False
    task = asyncio.create_task(listener.run())
    await until(lambda: "not logged in" in caplog.text)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()  # waiting for the stop, not failed
    said = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == 1 and not said[0].exc_info
    assert "run `wirewatch login`" in said[0].getMessage()
    assert not (await listener.status())["connected"]
    await stop_and_check(listener, task, caplog)
