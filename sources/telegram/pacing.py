"""Request pacing: a pause between history requests and Telegram's FloodWait, bounded.

Resolving usernames and reading history in bulk earns an account FloodWaits of hours, so every
request the listener makes passes this gate: it spaces requests by `telegram.request_pause` and
holds all of them while a FloodWait lasts. A wait longer than `telegram.flood_wait_max` is not
slept through: the request is dropped with `FloodWaitTooLong` and the next round retries.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sources.telegram.config import TelegramSettings
from sources.telegram.errors import FloodWaitTooLong

Sleep = Callable[[float], Awaitable[None]]


def now() -> float:
    return time.time()


def iso_time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


class RequestGate:
    """`sleep` is how the gate waits; tests pass one that records instead of waiting."""

    def __init__(self, settings: TelegramSettings, sleep: Sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._last_request = 0.0
        self.flood_until = 0.0
        self.flood_seconds = 0  # FloodWait seconds Telegram asked of us since start (metrics)

    async def wait_turn(self, what: str) -> None:
        remaining = self.flood_until - now()
        if remaining > 0:
            if remaining > self.settings.flood_wait_max:
                raise FloodWaitTooLong(
                    "{what}: Telegram asked to wait until {time}; skipped until then",
                    what=what,
                    time=iso_time(self.flood_until),
                )
            await self._sleep(remaining)
        pause = self.settings.request_pause - (now() - self._last_request)
        if pause > 0:
            await self._sleep(pause)
        self._last_request = now()

    def record_flood(self, seconds: int, what: str) -> FloodWaitTooLong | None:
        """Note a FloodWait; returns the error to raise when it is too long to sleep through."""
        self.flood_seconds += seconds
        self.flood_until = max(self.flood_until, now() + seconds)
        if seconds <= self.settings.flood_wait_max:
            return None
        return FloodWaitTooLong(
            "{what}: FloodWait of {seconds}s exceeds telegram.flood_wait_max ({limit}s); "
            "requests paused until {time}",
            what=what,
            seconds=seconds,
            limit=self.settings.flood_wait_max,
            time=iso_time(self.flood_until),
        )

    def flood_wait_until(self) -> str | None:
        """When the current FloodWait ends (ISO time), or None when there is none."""
        return iso_time(self.flood_until) if self.flood_until > now() else None
