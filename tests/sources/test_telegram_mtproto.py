"""The listener on Telethon's real client, over TCP, against a local MTProto server
(tests/mtproto_server.py): Telethon's own sender (encryption, reconnection, retries), update
handling (MessageBox, event builders) and request methods run unchanged; only Telegram is fake.

The client reaches the server through the listener's own settings (telegram.dc_address and
dc_port), as an operator would point it at Telegram's test servers. These tests wait for real
(a reconnection takes Telethon's retry delay, 5 s); the limits are the issue's, not tight ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from telethon import errors, functions, types
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from bot.service.app import App
from bot.settings import Settings
from sources.telegram.client import make_client
from sources.telegram.config import TelegramSettings
from sources.telegram.errors import TelegramError
from sources.telegram.listener import Listener
from sources.telegram.login import login_with_settings
from sources.telegram.session import session_path, unlock_session
from storage.records import Event, Post
from storage.store import Store
from tests.mtproto_server import MTProtoServer
from tests.service.support import free_port
from tests.telethon_seam import FakeChannel, FakeTelegram

MINISTRY = 1300500
USERNAME = "energy_ministry_ua"


@dataclass
class World:
    fake: FakeTelegram
    server: MTProtoServer
    store: Store
    settings: TelegramSettings
    channel: FakeChannel
    store_path: Path
    handed: list[Event] = field(default_factory=list)
    listeners: list[tuple[Listener, asyncio.Task[None]]] = field(default_factory=list)

    async def start_listener(self) -> Listener:
        pipeline = Pipeline(self.store)

        async def handle(event: Event) -> object:
            self.handed.append(event)
            return await pipeline.handle(event)

        listener = Listener(make_client(self.settings), self.store, handle, self.settings)
        task = asyncio.get_running_loop().create_task(listener.run())
        self.listeners.append((listener, task))
        return listener

    async def stop_listeners(self) -> None:
        for listener, task in self.listeners:
            await listener.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.listeners.clear()
        unlock_session(session_path(self.settings))

    def live(self, message_id: int, text: str) -> bool:
        """The channel posts; Telegram pushes the update to the account if it is a member."""
        update = self.fake.new_update(
            self.channel, self.fake.message(self.channel, message_id, text)
        )
        if not self.fake.is_member(self.channel):
            return False
        now = datetime.now(UTC)
        sent = self.server.push(
            types.Updates(updates=[update], users=[], chats=[self.channel.entity], date=now, seq=0)
        )
        return sent > 0

    async def last_id(self) -> int:
        src = await self.store.sources.by_username(USERNAME)
        return src.last_message_id if src else 0


def logged_in(settings: TelegramSettings, server: MTProtoServer, *, address: bool) -> None:
    """The session `wirewatch login` would have left: the auth key the server knows, and with
    `address` the server's address too (else only the settings name the server)."""
    session = SQLiteSession(str(session_path(settings)))
    if address:
        session.set_dc(2, "127.0.0.1", server.port)
    session.auth_key = AuthKey(server.auth_key.key)
    session.save()
    session.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    fake = FakeTelegram()
    fake.connected = True  # the fake's own flag; the server's socket is the connection here
    channel = fake.add_channel(USERNAME, MINISTRY, "Міністерство енергетики (тест)")
    server = MTProtoServer(fake.answer)
    await server.start()
    store = await Store.open(tmp_path / "wirewatch.db")
    settings = TelegramSettings(
        api_id=12345,
        api_hash=SecretStr("0" * 32),
        session=tmp_path / "listener.session",
        dc_address="127.0.0.1",
        dc_port=server.port,
        request_pause=0.0,
    )
    logged_in(settings, server, address=True)
    w = World(fake, server, store, settings, channel, tmp_path / "wirewatch.db")
    try:
        yield w
    finally:
        await w.stop_listeners()
        await server.stop()
        await store.close()


async def until(check: Callable[[], Awaitable[bool]], limit: float, what: str) -> float:
    """Seconds until `check` holds; fails after `limit` seconds."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > limit:
            raise AssertionError(f"{what}: not within {limit:.0f}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


def text(n: int) -> str:
    return f"Повідомлення №{n} про енергетику громад: графіки ремонту підстанцій оновлено."


async def desk(store: Store) -> None:
    await store.people.add(role="journalist", user_id=424242, lang="uk")
    await store.rules.add("енергетика", rule_to_json(parse_rule("енергетика")))
    await store.sources.upsert(USERNAME)


# -- 7: the settings point the real client at another server --------------------------------


async def test_settings_point_the_client_at_a_local_server(world: World, tmp_path: Path) -> None:
    # Before: no setting named a server; the client went to Telegram's production DC.
    settings = world.settings.model_copy(update={"session": tmp_path / "fresh.session"})
    logged_in(settings, world.server, address=False)
    client = make_client(settings)
    try:
        async with asyncio.timeout(30):
            await client.connect()
            assert await client.is_user_authorized()
            me = await client.get_me()
        assert me.id == world.fake.me.id
        assert any(isinstance(r, functions.InvokeWithLayerRequest) for r in world.server.requests)
    finally:
        await client.disconnect()
        unlock_session(session_path(settings))


# -- 1 and 2: a network drop --------------------------------------------------------------


@pytest.mark.slow
async def test_network_drop_catches_up_within_seconds_and_health_shows_the_outage(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    await desk(world.store)
    for i in range(1, 4):
        world.fake.post(world.channel, i, text(i))
    listener = await world.start_listener()
    await until(lambda: _is(world.last_id(), 3), 30, "first catch-up")
    assert world.live(4, text(4))
    await until(lambda: _is(world.last_id(), 4), 30, "a live post over the connection")
    assert listener.connected

    await world.server.cut()  # the network goes; Telethon starts reconnecting by itself
    cut = time.monotonic()
    world.fake.post(world.channel, 5, text(5))  # posted while we cannot hear it
    samples: list[dict[str, Any]] = []
    while time.monotonic() - cut < 10:
        await asyncio.sleep(0.5)
        samples.append({**await listener.status(), "t": time.monotonic() - cut})
    await world.server.restore()
    back = time.monotonic()
    took = await until(lambda: _is(world.last_id(), 5), 15, "the post made during the drop")

    # Health said so while it lasted (Telethon notices a closed socket at once; allow 2 s).
    during = [s for s in samples if s["t"] >= 2]
    assert during and all(s["connected"] is False for s in during)
    assert all(s["disconnected_since"] is not None for s in during)
    assert "connection" in str(during[-1]["last_error"])
    await until(lambda: _true(listener.connected), 15, "connected again")
    status = await listener.status()
    assert status["disconnected_since"] is None and status["reconnects"] >= 1
    ids = [e.message_id for e in world.handed if isinstance(e, Post)]
    assert ids.count(5) == 1 and not any(
        e.backfill for e in world.handed if isinstance(e, Post) and e.message_id == 5
    )
    with capsys.disabled():
        print(
            f"\n[network drop 10 s] post stored {took:.1f}s after the connection returned "
            f"({time.monotonic() - back:.1f}s total wait)"
        )


async def test_health_reports_a_lost_connection_at_once(world: World) -> None:
    await world.store.sources.upsert(USERNAME)
    world.fake.post(world.channel, 1, text(1))
    listener = await world.start_listener()
    await until(lambda: _is(world.last_id(), 1), 30, "listener started")
    assert (await listener.status())["connected"] is True
    await world.server.cut()

    async def reported() -> bool:
        status = await listener.status()
        return status["connected"] is False and status["disconnected_since"] is not None

    await until(reported, 10, "/healthz saying the connection is down")
    status = await listener.status()
    assert "connection" in str(status["last_error"])
    assert (await world.store.state.get("listener.connected") or ("",))[0] == "no"
    await world.server.restore()
    await until(lambda: _true(listener.connected), 30, "reconnected")


async def test_healthz_and_metrics_of_the_running_service_show_the_outage(world: World) -> None:
    await desk(world.store)
    world.fake.post(world.channel, 1, text(1))
    port = free_port()
    settings = Settings(db=world.store_path, health_port=port, telegram=world.settings)
    app = App(settings)
    await app.start()
    base = f"http://127.0.0.1:{port}"
    try:
        await until(lambda: _is(world.last_id(), 1), 30, "the service's listener caught up")
        body = json.loads((await _get(base + "/healthz"))[1])
        assert body["listener"]["connected"] is True
        assert "wirewatch_listener_connected 1.0" in (await _get(base + "/metrics"))[1]

        await world.server.cut()

        async def outage_shown() -> bool:
            body = json.loads((await _get(base + "/healthz"))[1])
            return body["listener"]["connected"] is False

        await until(outage_shown, 10, "/healthz showing the outage")
        body = json.loads((await _get(base + "/healthz"))[1])
        assert body["status"] == "degraded"
        assert any("not connected to Telegram" in r for r in body["degraded"])
        assert "connection" in str(body["listener"]["last_error"])
        assert "wirewatch_listener_connected 0.0" in (await _get(base + "/metrics"))[1]
        world.fake.post(world.channel, 2, text(2))
        await world.server.restore()
        await until(lambda: _is(world.last_id(), 2), 15, "the post made during the outage")
        body = json.loads((await _get(base + "/healthz"))[1])
        assert body["listener"]["connected"] is True
        assert not any("not connected" in r for r in body["degraded"])
    finally:
        await app.shutdown()
        unlock_session(session_path(world.settings))


# -- 4: another account -------------------------------------------------------------------


async def test_account_switch_joins_every_channel_and_live_posts_arrive(world: World) -> None:
    await desk(world.store)
    second = world.fake.add_channel("grid_operator_ua", 1300600, "Оператор мережі (тест)")
    await world.store.sources.upsert("grid_operator_ua")
    for i in range(1, 4):
        world.fake.post(world.channel, i, text(i))
        world.fake.post(second, i, text(i))
    await world.start_listener()
    await until(lambda: _is(world.last_id(), 3), 30, "account A caught up")
    await world.stop_listeners()

    # The database stays; the account is another one (a ban, a lost number, a second phone).
    world.fake.switch_account(
        types.User(id=888000222, access_hash=99, first_name="Second", username="ww_ear2")
    )
    assert not world.fake.is_member(world.channel) and not world.fake.is_member(second)
    world.fake.post(world.channel, 4, text(4))  # posted between the two accounts
    listener = await world.start_listener()

    async def joined() -> bool:
        return world.fake.is_member(world.channel) and world.fake.is_member(second)

    await until(joined, 30, "every followed channel joined by account B")
    await until(lambda: _is(world.last_id(), 4), 30, "catch-up as account B")
    assert world.live(5, text(5)), "account B gets the channel's updates"
    await until(lambda: _is(world.last_id(), 5), 30, "a live post to account B")
    status = await listener.status()
    assert all(s["error"] is None and s["followed"] for s in status["sources"])
    assert status["account"] == 888000222


# -- 6: error names -----------------------------------------------------------------------


async def test_login_says_which_error_telegram_named(world: World) -> None:
    world.fake.authorized = False
    with pytest.raises(TelegramError) as err:
        async with asyncio.timeout(30):
            await login_with_settings(
                world.settings, phone="+1234", prompt=lambda _: "", secret=lambda _: "00000"
            )
    assert str(err.value) == "Telegram refused the login: PHONE_NUMBER_INVALID"


async def test_source_errors_carry_telegrams_error_name(world: World) -> None:
    await world.store.sources.upsert(USERNAME)
    world.fake.post(world.channel, 1, text(1))
    listener = await world.start_listener()
    await until(lambda: _is(world.last_id(), 1), 30, "started")

    def refuse(request: Any) -> BaseException | None:
        if isinstance(request, functions.messages.GetHistoryRequest):
            return errors.ChatRestrictedError(request=request)
        return None

    world.fake.fail(refuse)
    src = await world.store.sources.by_username(USERNAME)
    assert src is not None
    await listener.reconcile_due()
    assert (await listener.status())["last_error"] == (
        f"reconcile @{USERNAME}: Telegram said CHAT_RESTRICTED"
    )


# -- helpers --------------------------------------------------------------------------------


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


async def _true(value: bool) -> bool:
    return value


async def _false(value: bool) -> bool:
    return not value
