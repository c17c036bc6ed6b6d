"""The listener's connection to Telegram: every request through one gate (pacing, FloodWait,
a dropped line retried), connecting and reconnecting with back-off, the watcher that catches up
when Telethon's own reconnect brings the line back, and stopping.

Stopping ends whatever the connection is doing (Telethon still retrying its connect, a back-off
of minutes, a request waiting to be tried again in a catch-up or a reconciliation): `run`
returns, and the log says so in one line. Everything that waits goes through `_pause`, which a
stop cuts short, and a stopped listener's work ends with `ListenerStopped`, which nothing
records as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telethon import TelegramClient, errors

from sources.telegram import notes
from sources.telegram.client import link_up
from sources.telegram.errors import ListenerStopped, TelegramError
from sources.telegram.pacing import RequestGate, Sleep, iso_time, now
from storage.records import note_of, note_text, person_note
from storage.store import Store

log = logging.getLogger("sources.telegram.listener")

T = TypeVar("T")

_MAX_RETRIES = 5  # FloodWaits or dropped connections survived by one request
_RECONNECT_MAX = 300.0  # longest pause between reconnection attempts, seconds
WATCH_TICK = 1.0  # seconds between looks at the connection's state


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled() or isinstance(task.exception(), ListenerStopped):
        return
    if task.exception() is not None:
        log.error("background catch-up failed", exc_info=task.exception())


class Link(ABC):
    """The connection of the `Listener`, which owns the catch-up (the abstract methods)."""

    client: TelegramClient
    store: Store
    state_key: str
    gate: RequestGate
    reconnects: int
    _sleep: Sleep
    _stop: asyncio.Event
    _connecting: asyncio.Task[Any] | None
    _connected: bool
    _link: bool
    _down_since: float | None
    _last_update: float | None
    _catching_up: asyncio.Task[int] | None
    _watcher: asyncio.Task[None] | None
    _adopting: asyncio.Task[None] | None

    @abstractmethod
    async def _error(self, note: str) -> None: ...

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def catch_up_all(self, what: str = "catch-up", *, refresh: bool = False) -> int: ...

    async def _set_connected(self, value: bool) -> None:
        if value:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now()
        if value != self._connected:
            self._connected = value
            await self.store.state.set(f"{self.state_key}.connected", "yes" if value else "no")

    # -- the request gate ----------------------------------------------------------------

    async def _request(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One Telegram request, paced, FloodWait-safe and retried after a dropped connection."""
        for attempt in range(_MAX_RETRIES + 1):
            await self.gate.wait_turn(what)
            self._stopping()
            try:
                result = await call()
            except errors.FloodWaitError as exc:
                await self._flood(int(exc.seconds), what)
            except ConnectionError as exc:
                # Telethon raises ConnectionError for requests made while it is disconnected
                # (and for those in flight when `stop` disconnects it).
                self._stopping()
                await self._set_connected(False)
                await self._error(notes.connection_lost(what, exc))
                if attempt == _MAX_RETRIES:
                    raise
                await self._pause(min(2.0**attempt, _RECONNECT_MAX))
                try:
                    await self._reconnect()
                except OSError as again:
                    # Still down: the next attempt finds out and backs off longer.
                    log.warning("reconnect failed: %s", again)
            else:
                await self._set_connected(True)
                return result
        raise TelegramError("{what}: gave up after {n} FloodWaits", what=what, n=_MAX_RETRIES)

    async def _flood(self, seconds: int, what: str) -> None:
        too_long = self.gate.record_flood(seconds, what)
        await self.store.state.set(
            f"{self.state_key}.flood_wait_until", iso_time(self.gate.flood_until)
        )
        if too_long is not None:
            log.error("%s", too_long)
            await self._error(note_of(too_long))
            raise too_long
        log.warning("FloodWait %ss on %s; waiting", seconds, what)
        await self._error(notes.flood_wait(what, seconds))
        await self._pause(seconds)

    def _stopping(self) -> None:
        if self._stop.is_set():
            raise ListenerStopped("the listener is stopping")

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` (pacing, a FloodWait, a back-off) unless told to stop first, which
        a back-off of minutes must not hold up: systemd kills what is not gone in its time."""
        self._stopping()
        waiting = asyncio.ensure_future(self._sleep(seconds))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopped):
                task.cancel()
        self._stopping()

    async def _connect(self) -> None:
        """client.connect() as a task of its own, which `stop` cancels: Telethon's connect
        retries for up to a minute, and disconnecting beneath it (its connection gone while it
        retries) ends in an AttributeError deep in Telethon."""
        self._stopping()
        self._connecting = asyncio.ensure_future(self.client.connect())
        try:
            await self._connecting
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not self._stop.is_set() or (current is not None and current.cancelling()):
                raise  # cancelled from outside, not by our own stop
            raise ListenerStopped("stopped while connecting") from None
        finally:
            self._connecting = None

    async def _reconnect(self) -> None:
        self._stopping()
        if not self.client.is_connected():
            log.info("reconnecting to Telegram")
            self.reconnects += 1
            await self._connect()
        await self._set_connected(self.client.is_connected())

    # -- the connection ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the connection to Telegram is up now (not merely wanted)."""
        return link_up(self.client)

    @property
    def down_since(self) -> str | None:
        """When the connection was seen lost (ISO time); None while it is up."""
        return iso_time(self._down_since) if self._down_since is not None else None

    @property
    def last_update_age(self) -> float | None:
        """Seconds since Telegram last sent an update; None before the first one."""
        return now() - self._last_update if self._last_update is not None else None

    async def watch(self, tick: float = WATCH_TICK) -> None:
        """Follow the connection's real state. Telethon reconnects by itself after a drop but
        fetches nothing that was posted meanwhile: when the link comes back, catch up."""
        while not self._stop.is_set():
            try:
                await self.check_link()
            except Exception:
                log.exception("checking the Telegram connection failed")
            await asyncio.sleep(tick)

    async def check_link(self) -> None:
        """One look at the connection: record a loss, or catch up after a return."""
        up = self.connected
        if up == self._link:
            return
        self._link = up
        down = self._down_since
        await self._set_connected(up)
        if not up:
            log.warning("the connection to Telegram is down; Telethon is reconnecting")
            await self._error(person_note("connection to Telegram lost; reconnecting"))
            return
        self.reconnects += 1
        log.info(
            "connection to Telegram back after %.0fs; catching up",
            now() - down if down is not None else 0.0,
        )
        self._catch_up_soon("catch-up after reconnect")

    def _catch_up_soon(self, what: str) -> None:
        """Catch up every channel in the background, unless a round is already running."""
        if self._catching_up is not None and not self._catching_up.done():
            return
        task = asyncio.get_running_loop().create_task(self.catch_up_all(what))
        task.add_done_callback(_log_failure)
        self._catching_up = task

    async def run(self) -> None:
        """Connect, catch up, listen; after a disconnect, reconnect with back-off and catch up
        again (Telethon does not replay what happened while it was away). Returns once `stop`
        is called, whatever it was doing then."""
        with contextlib.suppress(ListenerStopped):
            await self._run()

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                if not self.client.is_connected():
                    await self._connect()
                if not await self.client.is_user_authorized():
                    await self._signed_out()
                    return
                await self._set_connected(True)
                self._link = True  # start() catches up; the watcher must not as well
                if self._watcher is None or self._watcher.done():
                    self._watcher = asyncio.get_running_loop().create_task(self.watch())
                await self.start()
                delay = 1.0
                # Resolves only when Telethon gives up reconnecting (minutes); shorter drops
                # are caught up by the watcher.
                await self.client.disconnected
            except (ConnectionError, OSError) as exc:
                self._stopping()  # stop's own disconnect, not a failure
                await self._error(person_note("connection: {error}", error=str(exc)))
                log.warning("Telegram connection failed: %s", exc)
            await self._set_connected(False)
            if self._stop.is_set():
                break
            log.warning("disconnected from Telegram; reconnecting in %.0fs", delay)
            await self._pause(delay)
            self.reconnects += 1
            delay = min(delay * 2, _RECONNECT_MAX)

    async def _signed_out(self) -> None:
        """The session holds no sign-in (a `login` left before the code was entered, a session
        ended from another device). Nothing here can sign in, and `login` cannot while this
        process holds the session: say so once and wait for the stop, instead of failing and
        being restarted with a traceback every minute."""
        note = person_note(
            "the Telegram session is not logged in: stop wirewatch, run `wirewatch login`, "
            "start it again"
        )
        log.error("%s", note_text(note))
        await self._error(note)
        with contextlib.suppress(ConnectionError, OSError):
            await self.client.disconnect()
        await self._set_connected(False)
        await self._stop.wait()

    async def stop(self) -> None:
        """Stop whatever the listener is doing (`run` returns) and disconnect: one line in
        the log, however far the connection had got."""
        self._stop.set()
        doing = "connecting" if self._connecting is not None else "connected"
        if not self.client.is_connected() and self._connecting is None:
            doing = "not connected"
        for task in (self._watcher, self._catching_up, self._adopting):
            if task is not None and not task.done():
                task.cancel()
        connecting = self._connecting
        if connecting is not None and not connecting.done():
            # Telethon's connect is still retrying: end it before disconnecting beneath it.
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await connecting
        result = self.client.disconnect()
        if result is not None:
            await result
        await self._set_connected(False)
        log.info("Telegram listener stopped (it was %s)", doing)
