"""The outbox notifier: the only code that sends alerts to journalists.

It drains pending alerts (oldest first), one worker per chat so that a chat waiting out its
limit never holds up the others, and paces every send to Telegram's limits: about
`global_rate` messages a second for the bot, one every `chat_interval` seconds to a person and
`group_per_minute` to a group. What Telegram answers decides what happens to an alert:

- success: the alert is marked sent with Telegram's message id at once, so a crash can repeat at
  most the one alert that was in flight;
- 429: wait `retry_after` (capped by `retry_after_max`) and try again; the whole bot slows down
  for that long, since Telegram's flood limit is counted per bot;
- 5xx, network errors, timeouts: retry later with exponential backoff and jitter
  (`alerts.mark_retry`), up to `max_attempts`, then the alert fails;
- 403: the person blocked the bot; they are marked unreachable and their alerts held, not lost;
  so is 400 "chat not found", Telegram's answer to a bot writing first to someone added by
  user id who has not opened it yet: their alerts go out once they write to it;
- 400 with `migrate_to_chat_id`: the group was upgraded to a supergroup, which has a new id;
  the chat's rows follow it (`chats.follow_upgrade`) and the alert goes to the new id at once
  (or, when the new id was on the desk already, joins that row's queue, twins dropped);
- 400: the payload is wrong; that alert fails with Telegram's description and the chat moves on
  (HTML Telegram cannot parse goes as plain text instead: `bot/delivery/sender.py`).

Alerts to one chat go out in id order: while an alert waits for a retry, later alerts to the
same chat wait behind it. Edit and deletion follow-ups reply to the message of the alert they
follow. Sending one alert's messages (pacing, 429 waits, the photo, resuming a half-sent
alert) is `bot/delivery/sender.py`'s; which alert goes when, and what an answer means for
its row, is this module's.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
)

from bot.delivery.chats import ChatLeases, follow_upgrade, unsendable
from bot.delivery.pacer import Clock, Pacer
from bot.delivery.payload import PayloadError, parse_payload
from bot.delivery.refusals import chat_unknown
from bot.delivery.sender import Sender, Stopped, Throttled
from bot.settings import BotSettings
from storage.db import now
from storage.media import MediaFolder
from storage.models import Alert
from storage.store import DATABASE_ERRORS, Store

log = logging.getLogger(__name__)


# Answers that mean "try again later"; anything Telegram itself rejects as a bad request is not.
_TRANSIENT = (
    TelegramServerError,
    TelegramNetworkError,
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)
# The request itself is wrong: retrying the same payload cannot succeed.
FULL_SWEEP_EVERY = 1.0  # seconds: at most this often a worker's progress re-reads every due alert
_PERMANENT = (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge)
_MOVES = 3  # a chat followed to a supergroup's new id this often for one alert at most


class _Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"  # the person cannot be reached; their alerts are parked
    DEFERRED = "deferred"  # retry later; later alerts of the chat wait behind it
    WAITING = "waiting"  # a follow-up whose original is not sent yet
    STOPPED = "stopped"
    MOVED = "moved"  # the chat is a supergroup now: send the alert again, to its new id
    MERGED = "merged"  # ... whose row had its own queue: the chat's alerts are in it now


@dataclass(frozen=True, slots=True)
class _Gate:
    """Alerts of a chat after `alert_id` wait until that alert is sent or given up."""

    alert_id: int
    next_at: int  # unix seconds when the blocking alert is due again


class Notifier:
    """Delivers the outbox. Counters (`sent`, `failed`, `retried`, `throttled`, `held`,
    `last_error`) are read by /status and metrics. Each alert's messages go out through
    `self.sender` (bot/delivery/sender.py); what Telegram answers decides the alert's row here."""

    def __init__(
        self,
        store: Store,
        bot: Bot,
        settings: BotSettings,
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        backoff_base: float = 2.0,
        backoff_max: float = 900.0,
        batch: int = 1000,
        idle_poll: float = 30.0,
        media: MediaFolder | None = None,
    ) -> None:
        self.store = store
        self.bot = bot
        self.settings = settings
        self.clock = clock
        self.pacer = Pacer(
            global_rate=settings.global_rate,
            chat_interval=settings.chat_interval,
            group_per_minute=settings.group_per_minute,
            clock=clock,
            chat_burst=settings.chat_burst,
        )
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.batch = batch
        self.idle_poll = idle_poll

        self.sent = 0
        self.failed = 0
        self._retried = 0  # deferred by `_retry`; 429s waited out are the sender's
        self.held = 0
        self.last_error: str | None = None

        self._token = bot.token
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()  # a chat worker finished
        # Alert ids only: a worker re-reads each row before sending it; whole rows held for a
        # long backlog (a paced chat, thousands of matches) grew the service without bound.
        self._queues: dict[int, deque[int]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._inflight: set[int] = set()
        self._hwm = 0  # highest alert id read from the outbox so far
        self._gates: dict[int, _Gate] = {}
        self._leases = ChatLeases(store, clock)
        self.sender = Sender(
            bot,
            settings,
            self.pacer,
            media=media,
            posts=store.posts,
            stop=lambda: self._stop,
            note_error=self._note_error,
            started=store.alerts.mark_started,
        )

    # -- public API ----------------------------------------------------------------------------

    def wake(self) -> None:
        """New alerts were enqueued: look at the outbox now rather than at the next due time."""
        self._wake.set()

    @property
    def throttled(self) -> int:
        """429 answers from the Bot API."""
        return self.sender.throttled

    @property
    def retried(self) -> int:
        """Sends deferred: each 429 waited out, and each alert put back for a later try."""
        return self._retried + self.sender.throttled

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def drain_once(self) -> int:
        """Send everything that is due now; returns how many alerts were sent."""
        before = self.sent
        while not self._stop.is_set():
            dispatched = await self._dispatch_due()
            if not self._workers:
                break
            await self._join()
            if dispatched == 0:
                break
        return self.sent - before

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish the message in flight and return."""
        self._stop = stop
        keeper = asyncio.create_task(self._leases.keep(self._workers))
        try:
            await self._loop(stop)
        except asyncio.CancelledError:
            for task in self._workers.values():
                task.cancel()
            raise
        finally:
            await self._join()
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            self._stop = asyncio.Event()

    async def _loop(self, stop: asyncio.Event) -> None:
        # A full read of the due alerts costs up to `batch` rows with their payloads. New
        # alerts (a wake) only need the rows above the highest id already dispatched; a full
        # sweep (retries that came due, gates that opened) runs on the timer and at most once
        # a second on progress. Reading everything on every wake made a burst of posts
        # quadratic: each post re-read the whole backlog.
        full = True
        last_full = -math.inf
        while not stop.is_set():
            woke = self._wake.is_set()
            progressed = self._progress.is_set()
            self._wake.clear()
            self._progress.clear()
            if progressed and self.clock() - last_full >= FULL_SWEEP_EVERY:
                full = True
            try:
                if full or not woke:
                    last_full = self.clock()
                    await self._dispatch_due()
                else:
                    await self._dispatch_due(after_id=self._hwm)
                delay = await self._idle_delay()
            except DATABASE_ERRORS as exc:
                # The database may be busy or briefly unavailable; keep the service up.
                self._note_error(f"outbox read failed: {exc}")
                log.exception("notifier: reading the outbox failed")
                delay = min(self.idle_poll, 5.0)
            full = not await self._wait_any(stop, delay)

    # -- dispatching ---------------------------------------------------------------------------

    async def _dispatch_due(self, *, after_id: int = 0) -> int:
        alerts = await self.store.alerts.due(limit=self.batch, after_id=after_id)
        if alerts:
            self._hwm = max(self._hwm, max(a.id for a in alerts))
        await self._refresh_gates(alerts)
        return self._dispatch(alerts)

    def _dispatch(self, alerts: Iterable[Alert]) -> int:
        count = 0
        for alert in sorted(alerts, key=lambda a: a.id):
            if alert.id in self._inflight:
                continue
            if self._leases.elsewhere(alert.person_id):
                continue
            gate = self._gates.get(alert.person_id)
            if gate is not None and alert.id > gate.alert_id:
                continue
            self._inflight.add(alert.id)
            self._queues.setdefault(alert.person_id, deque()).append(alert.id)
            count += 1
            if alert.person_id not in self._workers:
                self._workers[alert.person_id] = asyncio.create_task(
                    self._worker(alert.person_id), name=f"notifier-person-{alert.person_id}"
                )
        return count

    async def _refresh_gates(self, due: list[Alert]) -> None:
        """Drop gates whose blocking alert was settled elsewhere (released, failed by hand)."""
        due_ids = {a.id for a in due}
        wall = now()
        for person_id, gate in list(self._gates.items()):
            if gate.alert_id in due_ids or gate.alert_id in self._inflight or wall < gate.next_at:
                continue
            blocking = await self.store.alerts.get(gate.alert_id)
            if blocking is None or blocking.status != "pending":
                self._gates.pop(person_id, None)
            elif blocking.next_attempt_at != gate.next_at:
                self._gates[person_id] = _Gate(blocking.id, blocking.next_attempt_at)

    async def _join(self) -> None:
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def _idle_delay(self) -> float:
        next_due = await self.store.alerts.next_due_at()
        wall = time.time()
        if next_due is None:
            return self.idle_poll
        if next_due > wall:
            return min(next_due - wall, self.idle_poll)
        # Something is due but in flight or waiting behind a gate: sleep until a worker finishes
        # (the _progress event) or the earliest gate opens.
        opens = [g.next_at - wall for g in self._gates.values()]
        opens += self._leases.retry_in()
        return max(0.05, min([self.idle_poll, *opens]))

    async def _wait_any(self, stop: asyncio.Event, delay: float) -> bool:
        """Wait for stop, a wake or a worker's progress; False if `delay` ran out first."""
        waiters = [
            asyncio.create_task(stop.wait()),
            asyncio.create_task(self._wake.wait()),
            asyncio.create_task(self._progress.wait()),
        ]
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
            return bool(done)
        finally:
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    # -- one chat ------------------------------------------------------------------------------

    async def _worker(self, person_id: int) -> None:
        queue = self._queues[person_id]
        current_id: int | None = None
        leased = False
        moves = 0
        try:
            if not (leased := await self._leases.take(person_id)):
                return  # another notifier delivers this chat
            person = await self.store.people.get(person_id)
            reason = unsendable(person)
            if reason is not None:
                await self._hold(person_id, reason, chat_id=person.user_id if person else None)
                return
            assert person is not None and person.user_id is not None
            while queue and not self._stop.is_set():
                # Renews the chat's claim; a notifier that stalled past it stops here.
                if not await self._leases.take(person_id):
                    return
                current_id = queue[0]
                # Re-read the row: a batch read just before another worker settled this alert
                # is stale, and an editor may have held or released it meanwhile. This check is
                # what makes "never sent twice" hold.
                fresh = await self.store.alerts.get(current_id)
                if (
                    fresh is None
                    or fresh.status != "pending"
                    or fresh.next_attempt_at > now()
                    or fresh.person_id != person_id  # merged into another chat's queue
                ):
                    queue.popleft()
                    self._inflight.discard(current_id)
                    current_id = None
                    continue
                outcome = await self._deliver(fresh, person.user_id)
                if outcome is _Outcome.MOVED and moves < _MOVES:
                    moves += 1
                    moved = await self.store.people.get(person_id)
                    if moved is not None and moved.user_id is not None:
                        person = moved
                        continue  # the same alert, to the chat's new id
                queue.popleft()
                self._inflight.discard(current_id)
                current_id = None
                if outcome not in (_Outcome.SENT, _Outcome.FAILED):
                    return  # held, deferred, waiting or stopping: the rest of the chat waits
        except Exception as exc:
            # The one error path for a chat: log it with context and keep the service running.
            # The chat pauses briefly so that a persistent fault does not spin.
            self._note_error(f"person {person_id}: {type(exc).__name__}: {exc}")
            log.exception(
                "notifier: delivery to person %s stopped at alert %s",
                person_id,
                current_id,
            )
            if current_id is not None:
                self._gates[person_id] = _Gate(current_id, now() + 5)
        finally:
            if leased:
                await self._leases.give_back(person_id)
            for alert_id in queue:
                self._inflight.discard(alert_id)
            queue.clear()
            self._queues.pop(person_id, None)
            self._workers.pop(person_id, None)
            self._progress.set()

    async def _hold(self, person_id: int, reason: str, *, chat_id: int | None) -> None:
        count = await self.store.alerts.hold_person(person_id, reason)
        self.held += count
        self._gates.pop(person_id, None)
        log.warning(
            "notifier: holding %d alert(s) of person %s (chat %s): %s",
            count,
            person_id,
            chat_id,
            reason,
        )

    async def _deliver(self, alert: Alert, chat_id: int) -> _Outcome:
        try:
            messages = parse_payload(alert.payload)
        except PayloadError as exc:
            return await self._fail(alert, chat_id, f"bad payload: {exc}")

        reply_to: int | None = None
        if alert.reply_to_alert is not None:
            original = await self.store.alerts.get(alert.reply_to_alert)
            if original is not None and original.status == "sent":
                reply_to = original.tg_message_id
            elif original is not None and original.status in ("pending", "held"):
                # Same chat, lower id: it goes first; it is not due yet, so wait behind it.
                # Held (quiet hours): the outbox hands out no follow-up of it (NOT_GATED);
                # it is released or digested with it (digest.release_quiet).
                if original.status == "pending":
                    self._gates[alert.person_id] = _Gate(original.id, original.next_attempt_at)
                log.info(
                    "notifier: alert %s (chat %s) waits for its original alert %s (%s)",
                    alert.id,
                    chat_id,
                    original.id,
                    original.status,
                )
                return _Outcome.WAITING
            # A failed or vanished original: the follow-up goes out on its own.

        try:
            first = await self.sender.send(alert, chat_id, messages, reply_to)
        except Stopped:
            return _Outcome.STOPPED
        except TelegramForbiddenError as exc:
            return await self._unreachable(alert, chat_id, exc.message)
        except TelegramMigrateToChat as exc:
            return await self._upgraded(alert, chat_id, exc.migrate_to_chat_id, exc.message)
        except _PERMANENT as exc:
            if isinstance(exc, TelegramBadRequest) and chat_unknown(exc):
                # Telegram's words, as for a block: /status shows them to editors as they are.
                return await self._unreachable(alert, chat_id, exc.message)
            self.sender.forget(alert.id)
            return await self._fail(alert, chat_id, exc.message)
        except Throttled as exc:
            return await self._retry(alert, chat_id, str(exc), wait=exc.wait)
        except _TRANSIENT as exc:
            return await self._retry(alert, chat_id, f"{type(exc).__name__}: {exc}")
        except TelegramAPIError as exc:
            # Unauthorized, conflict or an answer we do not know: back off rather than drop it.
            return await self._retry(alert, chat_id, f"{type(exc).__name__}: {exc.message}")

        # Telegram has the whole alert: record it before anything else can go wrong.
        await self.store.alerts.mark_sent(alert.id, first, digest=alert.kind == "digest")
        self.sender.forget(alert.id)
        self._clear_gate(alert)
        self.sent += 1
        log.info(
            "notifier: alert %s (%s) sent to chat %s as message %s",
            alert.id,
            alert.kind,
            chat_id,
            first,
        )
        return _Outcome.SENT

    # -- outcomes ------------------------------------------------------------------------------

    async def _unreachable(self, alert: Alert, chat_id: int, reason: str) -> _Outcome:
        """The person cannot be written to: hold their alerts until they write to the bot
        (bot/handlers/access.py marks them reachable, the release job sends what waited)."""
        self.sender.forget(alert.id)
        await self.store.people.set_pref(alert.person_id, "reachable", 0)
        await self._hold(alert.person_id, self._redact(reason), chat_id=chat_id)
        self._note_error(f"chat {chat_id}: {reason}")
        return _Outcome.HELD

    async def _upgraded(self, alert: Alert, chat_id: int, new: int, error: str) -> _Outcome:
        """The chat is a group Telegram upgraded to a supergroup (`migrate_to_chat_id`): the
        chat's rows follow it and the alert goes there, whole (a part that went is in the old
        chat). Only if the new id is another row's already does the alert fail."""
        self.sender.forget(alert.id)
        await follow_upgrade(self.store, chat_id, new)
        person = await self.store.people.get(alert.person_id)
        if person is not None and person.user_id == new:
            return _Outcome.MOVED
        fresh = await self.store.alerts.get(alert.id)
        if fresh is None or fresh.person_id != alert.person_id:
            # Merged into the row the new id had already: that chat's worker sends it (or
            # its twin), with the rest of its queue.
            self._clear_gate(alert)
            self.wake()
            return _Outcome.MERGED
        return await self._fail(alert, chat_id, error)

    async def _fail(self, alert: Alert, chat_id: int, error: str) -> _Outcome:
        error = self._redact(error)
        await self.store.alerts.mark_failed(alert.id, error)
        self.failed += 1
        self._note_error(f"alert {alert.id}: {error}")
        self._clear_gate(alert)
        log.error("notifier: alert %s to chat %s failed: %s", alert.id, chat_id, error)
        return _Outcome.FAILED

    async def _retry(
        self, alert: Alert, chat_id: int, error: str, *, wait: float | None = None
    ) -> _Outcome:
        error = self._redact(error)
        if alert.attempts + 1 >= self.settings.max_attempts:
            self.sender.forget(alert.id)
            return await self._fail(
                alert, chat_id, f"gave up after {alert.attempts + 1} attempts: {error}"
            )
        if wait is None:
            wait = self.backoff(alert.attempts)
        # From the true time, rounded up: from the whole second now() gives, a retry "in 1 s"
        # of a failure late in a second was due, and sent, a few milliseconds later.
        next_at = math.ceil(time.time() + max(1.0, wait))
        await self.store.alerts.mark_retry(alert.id, next_at, error)
        self._retried += 1
        self._note_error(f"alert {alert.id}: {error}")
        self._gates[alert.person_id] = _Gate(alert.id, next_at)
        log.warning(
            "notifier: alert %s to chat %s will be retried in %.0fs (attempt %d): %s",
            alert.id,
            chat_id,
            next_at - now(),
            alert.attempts + 1,
            error,
        )
        return _Outcome.DEFERRED

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try: doubling per attempt, capped, with jitter so that many
        alerts failing together do not all come back in the same second."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempts, 30))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _clear_gate(self, alert: Alert) -> None:
        gate = self._gates.get(alert.person_id)
        if gate is not None and gate.alert_id == alert.id:
            del self._gates[alert.person_id]

    def _note_error(self, text: str) -> None:
        self.last_error = self._redact(text)

    def _redact(self, text: str) -> str:
        # aiohttp errors can quote the request URL, which carries the bot token.
        return text.replace(self._token, "<token>") if self._token else text
