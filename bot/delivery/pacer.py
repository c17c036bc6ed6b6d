"""Send slots within Telegram's limits: about 30 messages a second for a bot, one a second to a
person (a short burst allowed), 20 a minute to a group, and a 429's `retry_after` honoured."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]


class Pacer:
    """Hands out send slots that respect Telegram's limits; pure arithmetic on `clock`.

    `reserve(chat)` books the next slot of the bot as a whole once the chat itself may send, and
    says how long to wait. A chat still waiting (its interval, a 429) books nothing, so it does
    not hold a global slot in the future that others would queue behind. Booking happens without
    awaiting, so concurrent chat workers never book the same slot.
    """

    def __init__(
        self,
        *,
        global_rate: float,
        chat_interval: float,
        group_per_minute: int,
        clock: Clock = time.monotonic,
        max_slowdown: float = 8.0,
        chat_burst: int = 1,
    ) -> None:
        self.global_interval = 1.0 / global_rate
        self.chat_interval = chat_interval
        self.group_interval = max(chat_interval, 60.0 / group_per_minute)
        self.clock = clock
        self.max_slowdown = max_slowdown
        self.chat_burst = max(1, chat_burst)
        self.slowdown = 1.0
        self._slow_until = -math.inf
        self._next_global = -math.inf
        # Per chat, a generic cell rate algorithm: the theoretical time of the next message at
        # the steady rate. A chat may run up to `chat_burst - 1` intervals ahead of it, so two
        # posts a second apart reach a journalist at once while the long-run pace stays 1/s.
        self._next_chat: dict[int, float] = {}
        self._hold: dict[int, float] = {}  # a 429's retry_after: no burst allowance applies

    def interval(self, chat_id: int) -> float:
        # Negative ids are groups and channels: Telegram allows them 20 messages a minute.
        return self.group_interval if chat_id < 0 else self.chat_interval

    def reserve(self, chat_id: int) -> tuple[float, bool]:
        """(seconds to wait, booked). If not booked, wait and ask again."""
        t = self.clock()
        if t >= self._slow_until:
            self.slowdown = 1.0
        interval = self.interval(chat_id)
        # Groups get no burst: Telegram counts their 20 messages per minute strictly.
        allowance = (self.chat_burst - 1) * interval if chat_id > 0 else 0.0
        tat = self._next_chat.get(chat_id, -math.inf)
        chat_free = max(tat - allowance, self._hold.get(chat_id, -math.inf))
        if chat_free > t:
            return chat_free - t, False
        slot = max(t, self._next_global)
        self._next_global = slot + self.global_interval * self.slowdown
        self._next_chat[chat_id] = max(tat, slot) + interval
        return slot - t, True

    def penalize(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429: this chat waits `seconds`, the bot slows down meanwhile."""
        t = self.clock()
        self._hold[chat_id] = max(self._hold.get(chat_id, -math.inf), t + seconds)
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, -math.inf), t + seconds)
        self.slowdown = min(self.slowdown * 2.0, self.max_slowdown)
        self._slow_until = max(self._slow_until, t + seconds)
