"""`wirewatch run --role`: the service split across processes on one PostgreSQL database.
A notifier delivers what another process queued and answers no commands; the bot process
answers commands and leaves delivery to the notifiers; SQLite refuses a split."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli.main import main
from bot.service.app import App
from bot.settings import BotSettings, Settings
from sources.telegram.config import TelegramSettings
from storage.store import Store
from tests.delivery.test_notifier import Outbox
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]


async def _until(check: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def _settings(url: str, api: FakeBotAPI) -> Settings:
    return Settings(
        db=url,
        health_port=0,
        bot=BotSettings(token=api.token, api_url=api.url, chat_interval=0.0, global_rate=1000.0),
    )


async def test_a_notifier_process_delivers_what_another_queued_and_polls_nothing(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    writer = await Store.open(pg_url)
    app = App(_settings(pg_url, fakebot), role="notifier")
    await app.start()
    try:
        box = await Outbox(writer).setup(2)
        for person in box.people:
            await box.alert(person)
        await _until(lambda: app.notifier is not None and app.notifier.sent == 2)
        assert app.dispatcher is None and fakebot.calls("getupdates") == []
        ok, body = await app.status()
        assert ok and body["role"] == "notifier"
    finally:
        await app.shutdown()
        await writer.close()


async def test_the_bot_process_answers_commands_and_leaves_the_outbox_alone(
    pg_url: str, fakebot: FakeBotAPI
) -> None:
    writer = await Store.open(pg_url)
    app = App(_settings(pg_url, fakebot), role="bot")
    await app.start()
    try:
        box = await Outbox(writer).setup(1)
        await box.alert(box.people[0])
        await _until(lambda: bool(fakebot.calls("getupdates")))
        assert app.notifier is None
        await asyncio.sleep(0.5)
        assert (await writer.alerts.counts()) == {"pending": 1}
    finally:
        await app.shutdown()
        await writer.close()


def test_a_split_on_sqlite_is_refused_with_the_reason(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--role", "notifier", "--db", f"{tmp_path}/w.db"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err


async def test_two_listener_processes_never_share_one_session(pg_url: str, tmp_path: Path) -> None:
    # A session used by two processes at once is revoked by Telegram (AUTH_KEY_DUPLICATED);
    # on another machine the session file's lock cannot see the other process, the database can.
    tg = TelegramSettings(api_id=1, api_hash=SecretStr("0" * 32), session=tmp_path / "desk")
    first = App(Settings(db=pg_url, health_port=0, telegram=tg), role="listener")
    second = App(Settings(db=pg_url, health_port=0, telegram=tg), role="listener")
    await first.start()
    try:
        await second.start()
        try:
            assert any("session is in use by another process" in d for d in second.degraded)
            assert not any("in use" in d for d in first.degraded)
        finally:
            await second.shutdown()
        # The lease dies with its holder: once the first stops, a newcomer gets it.
        await first.shutdown()
        third = App(Settings(db=pg_url, health_port=0, telegram=tg), role="listener")
        await third.start()
        try:
            assert not any("in use" in d for d in third.degraded)
        finally:
            await third.shutdown()
    finally:
        await first.shutdown()
