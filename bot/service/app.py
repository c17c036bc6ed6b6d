"""The composition root: `wirewatch run` builds everything here and nowhere else.

One asyncio process holds the store, the ingest pipeline, the aiogram bot (long polling and the
outbox notifier), the Telethon listener, JSONL feed followers, the APScheduler jobs and the
health server. Each long-running part is a *component* run by a supervisor: if it raises, the
error is logged with the component's name, counted, and the component restarts after a growing
pause (1 s doubling to 60 s), while the others keep running.

Missing credentials degrade instead of failing: without Telegram API credentials there is no
listener (feeds still ingest); without a bot token nothing is sent and alerts wait in the outbox.
Both are said at start and in /healthz.

Shutdown (SIGTERM or SIGINT): stop taking new events (feeds stop between lines, the listener
disconnects, polling stops, the scheduler takes no new runs), let the notifier finish the
message in flight (an interrupted alert stays pending and goes out after the restart), close the
database, all within `SHUTDOWN_BUDGET` seconds. A second signal cancels whatever is left.

Why nothing is lost on a crash: a post, its FTS row and its alerts commit in one transaction;
the feed offset is saved after the event is stored (a replay is harmless: ingest is
idempotent); the listener catches up from the last stored id; an alert is marked sent only after
Telegram confirms it, so a crash repeats at most the one alert in flight per chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.delivery.translation import TranslationWorker, listeners_translate, start_translations
from bot.ingest.capture import Capture, build_capture
from bot.ingest.pipeline import IngestResult, Pipeline
from bot.ingest.renorm import renormalise_once
from bot.matching.cache import set_budget as set_word_cache_budget
from bot.service import accounts
from bot.service.feeds import FeedFollower
from bot.service.health import HealthServer, Metrics, live_counters
from bot.service.ingest import build_pipeline
from bot.service.jobs import JOB_DEFAULTS, guarded, schedule_jobs
from bot.service.log import component
from bot.service.roles import build_delivery, may_listen, schedule_digests
from bot.service.sources import apply_sources_file, tell_renamed
from bot.settings import Settings
from storage.records import Event
from storage.store import DATABASE_ERRORS, Store

if TYPE_CHECKING:
    # Types only: each part is imported where it is built, so a service without a bot token
    # or Telegram credentials never loads aiogram or Telethon.
    from aiogram import Bot, Dispatcher
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.delivery.digest import DigestJobs
    from bot.delivery.notifier import Notifier
    from bot.service.accounts import AccountRunner
    from sources.telegram.listener import Listener

log = logging.getLogger(__name__)

# What a status probe may meet while the service is shutting down or the disk is failing.
_PROBE_ERRORS: tuple[type[Exception], ...] = (TimeoutError, OSError, ValueError, *DATABASE_ERRORS)

SHUTDOWN_BUDGET = 8.0  # seconds from the signal to a closed database (systemd waits 10+)
RESTART_MIN = 1.0
RESTART_MAX = 60.0
STABLE_AFTER = 60.0  # a component that ran this long restarts quickly again if it fails


@dataclass
class ComponentState:
    name: str
    up: bool = False
    restarts: int = 0
    last_error: str | None = None
    started_at: float | None = None
    task: asyncio.Task[None] | None = None


class App:
    """Build with settings and feed paths; `await run()` until a signal (or `request_stop`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        feeds: Sequence[str | os.PathLike[str]] = (),
        shutdown_budget: float = SHUTDOWN_BUDGET,
        feed_poll: float = 0.5,
        role: str = "all",
        account: str | None = None,
    ) -> None:
        self.role = role  # one of bot.service.roles.ROLES
        self.account = account  # the listener account this process runs (`run --account`)
        self.settings = settings
        self.feeds = [Path(f).expanduser().resolve() for f in feeds]
        self.shutdown_budget = shutdown_budget
        self.feed_poll = feed_poll
        self.metrics = Metrics()
        self.components: dict[str, ComponentState] = {}
        self.degraded: list[str] = []
        self.problems: list[str] = []  # configuration that is wrong, not merely absent
        self.feed_follower: FeedFollower | None = None
        self.started_at = time.time()
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.capture: Capture | None = None
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.notifier: Notifier | None = None
        self.listener: Listener | None = None
        self.translations: TranslationWorker | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.digests: DigestJobs | None = None
        self.runner: AccountRunner | None = None
        self.health: HealthServer | None = None
        self._session_path: Path | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._ready: asyncio.Event | None = None

    # -- life cycle --------------------------------------------------------------------------

    @property
    def stop_event(self) -> asyncio.Event:
        if self._stop is None:
            self._stop = asyncio.Event()
        return self._stop

    @property
    def ready(self) -> asyncio.Event:
        """Set once the database, health, ingest and the outbox are up; the bot (notifier,
        polling) may still be importing."""
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    def request_stop(self, reason: str = "requested") -> None:
        if self.stop_event.is_set():
            # A second signal: the operator does not want to wait for the orderly shutdown.
            log.warning("second stop (%s): cancelling what is still running", reason)
            for state in self.components.values():
                if state.task is not None and not state.task.done():
                    state.task.cancel()
            return
        log.info("stopping (%s)", reason)
        self.stop_event.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        try:
            await self.start()
            await self.stop_event.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.shutdown()
        return 0

    async def start(self) -> None:
        """Ready (health answering, posts ingested and alerts queued) before the bot's stack is
        imported: aiogram and the validators of the types the bot uses (lazy_types.py) are
        seconds of CPU, which a worker thread spends meanwhile. Notifier and polling start then;
        alerts wait in the outbox and commands in Telegram's queue until then."""
        settings = self.settings
        warming = (
            asyncio.create_task(asyncio.to_thread(_import_bot_stack), name="import-bot")
            if settings.bot.configured
            else None
        )
        self.store = store = await Store.open(settings.db)
        log.info("database %s open", settings.db)
        if self.role != "bot":  # the processes that store posts; before any is stored
            await renormalise_once(store)
        if settings.telegram.sources_file is not None:
            await apply_sources_file(self, settings.telegram.sources_file)
        self.capture = build_capture(store, settings.capture)
        set_word_cache_budget(settings.word_cache_mb * 1024 * 1024)  # a long run's new words
        self.pipeline = build_pipeline(store, settings, self.capture, self._on_enqueue)
        await self.pipeline.refresh_rules()

        if accounts.pooled(self):
            self.runner = await accounts.take_account(self)
        if await may_listen(self):
            self._build_listener()
            self.translations = start_translations(self, settings.translation)
        elif self.role != "bot":  # our drafts ask the listening process's worker too
            self.pipeline.translate = listeners_translate(settings.translation)
        scheduler = self._build_scheduler()
        await schedule_digests(self, scheduler)
        await self._start_health()
        listener = self.listener
        if listener is not None and self.runner is not None:
            await accounts.start_account(self, self.runner, listener)
        drafter = self.pipeline.drafter
        if self.role != "bot":
            # Also in a notifier process: it writes the drafts a stopped listener left.
            self._spawn("drafter", lambda: drafter.serve(self.stop_event))
        if listener is not None:
            self._spawn("listener", listener.run)
        for path in self.feeds:
            self._spawn(f"feed:{path.name}", lambda p=path: self._feeds().follow(p))  # type: ignore[misc]
        scheduler.start()
        self.metrics.live(lambda: live_counters(self.notifier, self.translations, self.listener))
        self.ready.set()
        log.info("ready: health, ingest and the outbox up; the bot follows")

        if warming is not None:
            await warming
        if self.stop_event.is_set():
            return  # stopped while the bot's stack was importing: nothing more to start
        await build_delivery(self)
        notifier, bot, dispatcher = self.notifier, self.bot, self.dispatcher
        if notifier is not None:
            self._spawn("notifier", lambda: notifier.run(self.stop_event))
        if dispatcher is not None and bot is not None:
            self._spawn("polling", lambda: self._poll(dispatcher, bot))
        for reason in self.degraded:
            log.warning("degraded: %s", reason)
        for problem in self.problems:
            log.error("%s", problem)
        log.info(
            "wirewatch running: %s",
            ", ".join(sorted(self.components)) or "no components (nothing to do)",
        )

    async def shutdown(self) -> None:
        self._stopping = True
        set_word_cache_budget(None)  # the defaults again for what this process does next
        self.stop_event.set()
        deadline = time.monotonic() + self.shutdown_budget
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        stoppers: list[Awaitable[Any]] = []
        if self.listener is not None:
            stoppers.append(self.listener.stop())
        if self.dispatcher is not None and "polling" in self.components:
            stoppers.append(self._stop_polling(self.dispatcher))
        if stoppers:
            results = await asyncio.gather(
                *(
                    asyncio.wait_for(s, timeout=max(0.1, deadline - time.monotonic()))
                    for s in stoppers
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("stopping a component: %s", result)
        tasks = [s.task for s in self.components.values() if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(
                tasks, timeout=max(0.1, deadline - time.monotonic() - 1.0)
            )
            for task in pending:
                log.warning("%s did not stop in time; cancelled", task.get_name())
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.capture is not None:
            await self.capture.close()
        if self.health is not None:
            await self.health.stop()
        if self.bot is not None:
            await self.bot.session.close()
        if self._session_path is not None:
            from sources.telegram.session import unlock_session

            unlock_session(self._session_path)
        if self.store is not None:
            await self.store.close()
            self.store = None
        log.info("stopped cleanly")

    # -- building ----------------------------------------------------------------------------

    def _build_bot(self) -> None:
        cfg = self.settings.bot
        if not cfg.configured:
            self.degraded.append(
                "no bot token (WIREWATCH_BOT__TOKEN): ingesting and storing; alerts wait in "
                "the outbox until a token is set"
            )
            return
        from bot.delivery.client import BotTokenError, make_bot
        from bot.delivery.notifier import Notifier

        try:
            self.bot = make_bot(cfg)
        except BotTokenError as exc:
            self.problems.append(f"{exc}; no bot")
            self.degraded.append("bot disabled: malformed token; alerts wait in the outbox")
            return
        assert self.store is not None
        media = self.capture.folder if self.capture else None
        self.notifier = Notifier(self.store, self.bot, cfg, media=media)

    def _build_dispatcher(self) -> Dispatcher:
        from bot.handlers import build_dispatcher

        assert self.store is not None
        return build_dispatcher(
            store=self.store,
            settings=self.settings,
            listener=self.listener,
            digests=self.digests,
            status=self.status,
            notifier=self.notifier,
        )

    def _build_listener(self) -> None:
        tg = accounts.listener_settings(self)
        if not tg.configured:
            self.degraded.append(
                f"no Telegram API credentials ({accounts.credentials_hint(self.account)}): "
                "running without the listener; feeds and imports still work"
            )
            return
        from sources.telegram.client import make_client
        from sources.telegram.errors import SessionInUseError
        from sources.telegram.listener import Listener
        from sources.telegram.session import session_path

        assert self.store is not None
        path = session_path(tg)
        if not path.exists():
            self.degraded.append(
                f"no Telegram session at {path}: run `wirewatch login`; running without the "
                "listener"
            )
            return
        try:
            client = make_client(tg)
        except SessionInUseError as exc:
            self.problems.append(str(exc))
            self.degraded.append("listener disabled: its session is in use elsewhere")
            return
        self._session_path = path
        self.listener = Listener(
            client, self.store, self.ingest, tg, self.settings.jobs, name=self.account or "default"
        )
        self.listener.on_renamed = partial(tell_renamed, self.store, tg.sources_file)
        if self.capture is not None:
            self.capture.listen(self.listener, documents=self.settings.capture.documents)

    def _build_scheduler(self) -> AsyncIOScheduler:
        """Every job runs with JOB_DEFAULTS and through `guarded`, so each is logged with its
        name and counted in wirewatch_job_runs_total / job_failures_total."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        assert self.store is not None
        self.scheduler = scheduler = AsyncIOScheduler(
            timezone=self.settings.zone, job_defaults=dict(JOB_DEFAULTS)
        )
        wake = self.notifier.wake if self.notifier is not None else None
        schedule_jobs(
            scheduler,
            self.store,
            self.settings,
            wake_notifier=wake,
            metrics=self.metrics,
            media=self.capture.folder if self.capture is not None else None,
        )
        if self.listener is not None:
            self.listener.schedule(scheduler, wrap=self._guard)
        return scheduler

    def _guard(
        self, name: str, func: Callable[[], Awaitable[Any]]
    ) -> Callable[[], Awaitable[None]]:
        return guarded(name, func, self.metrics)

    async def _start_health(self) -> None:
        port = self.settings.health_port
        if port == 0:
            log.info("health endpoint off (WIREWATCH_HEALTH_PORT=0)")
            return
        self.health = HealthServer(
            self.settings.health_host, port, self.status, self.render_metrics
        )
        try:
            await self.health.start()
        except OSError as exc:
            # A busy port must not take the whole service down: ingest matters more.
            self.problems.append(
                f"health endpoint not started on {self.settings.health_host}:{port}: {exc}"
            )
            self.health = None

    # -- components --------------------------------------------------------------------------

    def _spawn(self, name: str, run: Callable[[], Awaitable[Any]]) -> None:
        state = ComponentState(name)
        self.components[name] = state
        state.task = asyncio.create_task(self._supervise(state, run), name=name)

    async def _supervise(self, state: ComponentState, run: Callable[[], Awaitable[Any]]) -> None:
        component.set(state.name)
        delay = RESTART_MIN
        gauge = self.metrics.up.labels(state.name)
        while not self.stop_event.is_set():
            started = time.monotonic()
            state.up, state.started_at = True, time.time()
            gauge.set(1)
            try:
                await run()
                if self.stop_event.is_set():
                    break
                state.last_error = "returned unexpectedly"
                log.warning("%s returned while the service runs; restarting", state.name)
            except Exception as exc:
                # The one error path for components: log with context, restart, keep the rest.
                state.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s failed; restarting in %.0fs", state.name, delay)
            finally:
                state.up = False
                gauge.set(0)
            if self.stop_event.is_set():
                break
            if time.monotonic() - started > STABLE_AFTER:
                delay = RESTART_MIN
            state.restarts += 1
            self.metrics.restarts.labels(state.name).inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
            delay = min(delay * 2, RESTART_MAX)

    async def _poll(self, dispatcher: Dispatcher, bot: Bot) -> None:
        await dispatcher.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
        )

    async def _stop_polling(self, dispatcher: Dispatcher) -> None:
        with contextlib.suppress(RuntimeError):  # polling had not started (or already ended)
            await dispatcher.stop_polling()

    async def ingest(self, event: Event) -> IngestResult:
        """Every source's way in: the pipeline plus the ingest counters."""
        assert self.pipeline is not None
        result = await self.pipeline.handle(event)
        self.metrics.count_ingest(
            result.stored, result.edited, result.deleted, result.duplicates, result.alerts
        )
        return result

    def _feeds(self) -> FeedFollower:
        if self.feed_follower is None:
            assert self.store is not None
            self.feed_follower = FeedFollower(
                self.store, self.ingest, self.stop_event, self.metrics, poll=self.feed_poll
            )
        return self.feed_follower

    @property
    def feed_offsets(self) -> dict[str, int]:
        return self.feed_follower.offsets if self.feed_follower is not None else {}

    @property
    def feed_skipped(self) -> int:
        """Feed events skipped because storing them kept failing."""
        return self.feed_follower.skipped if self.feed_follower is not None else 0

    def _on_enqueue(self) -> None:
        if self.notifier is not None:
            self.notifier.wake()
        if self.translations is not None:
            self.translations.wake()

    # -- the operator's view -----------------------------------------------------------------

    async def render_metrics(self) -> bytes:
        store = self.store
        if store is not None:
            try:
                async with asyncio.timeout(3):
                    self.metrics.set_outbox(await store.alerts.counts())
                    rows = await self._source_rows()
                self.metrics.set_sources(rows, time.time())
            except _PROBE_ERRORS as exc:
                log.warning("metrics: database busy (%s); serving the last values", exc)
        return self.metrics.render()

    async def _source_rows(self) -> list[dict[str, Any]]:
        assert self.store is not None
        behind: dict[str, Any] = {}
        if self.listener is not None:
            status = await self.listener.status()
            behind = {s["username"]: s.get("behind") for s in status["sources"]}
            until = status.get("flood_wait_until")
            left = datetime.fromisoformat(until).timestamp() - time.time() if until else 0.0
            self.metrics.flood_left.set(max(0.0, left))
        rows = []
        for src in await self.store.sources.list(active_only=True):
            rows.append(
                {
                    "username": src.username,
                    "behind": behind.get(src.username),
                    "last_post_ts": src.last_post_at.timestamp() if src.last_post_at else None,
                }
            )
        return rows

    async def status(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, body) for /healthz. Unhealthy: the database does not answer or a
        component is down (crashed and waiting to restart). Degraded is still healthy."""
        body: dict[str, Any] = {
            "status": "ok",
            "role": self.role,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started_at),
            "degraded": list(self.degraded),
            "problems": list(self.problems),
            "components": {
                name: {"up": s.up, "restarts": s.restarts, "last_error": s.last_error}
                for name, s in sorted(self.components.items())
            },
            "bot": "enabled" if self.bot is not None else "disabled",
            "listener": "enabled" if self.listener is not None else "disabled",
            "account": accounts.account_status(self.runner),
            "feeds": dict(self.feed_offsets),
            "feed_skipped": self.feed_skipped,
        }
        healthy = all(s.up for s in self.components.values()) and not self._stopping
        store = self.store
        try:
            if store is None:
                raise OSError("database closed")
            async with asyncio.timeout(3):
                body["outbox"] = await store.alerts.counts()
                body["posts"] = await store.posts.count()
                if self.listener is not None:
                    body["listener"] = await self.listener.status()
        except _PROBE_ERRORS as exc:
            healthy = False
            body["database_error"] = str(exc)
        if self.notifier is not None:
            body["notifier"] = {
                "sent": self.notifier.sent,
                "failed": self.notifier.failed,
                "retried": self.notifier.retried,
                "held": self.notifier.held,
                "in_flight": self.notifier.in_flight,
                "last_error": self.notifier.last_error,
            }
        if "drafter" in self.components and self.pipeline is not None:
            body["drafter"] = self.pipeline.drafter.status()
        if self.listener is not None and not self.listener.connected:
            since = self.listener.down_since
            body["degraded"].append(
                "the listener is not connected to Telegram"
                + (f" (since {since}); Telethon is reconnecting" if since else "")
            )
        if self.scheduler is not None and self.scheduler.running:
            body["jobs"] = {
                job.id: job.next_run_time.isoformat() if job.next_run_time else None
                for job in self.scheduler.get_jobs()
            }
        if not healthy:
            body["status"] = "fail"
        elif body["degraded"] or self.problems:
            body["status"] = "degraded"
        return healthy, body


def _import_bot_stack() -> None:
    """Import what the bot needs (aiogram, the handlers) and build the validators of the
    Telegram types it uses (bot/delivery/lazy_types.py) in a worker thread; the next import on
    the event loop finds the modules ready."""
    import bot.delivery.client
    import bot.delivery.notifier
    import bot.handlers  # noqa: F401
    from bot.delivery.lazy_types import warm

    warm()
