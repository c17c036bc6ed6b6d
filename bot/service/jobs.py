"""Scheduled jobs of `wirewatch run` on an APScheduler 3 AsyncIOScheduler.

Every job sets `max_instances=1` (a slow run is never doubled), `coalesce=True` (runs missed
while the process slept or was busy collapse into one) and a `misfire_grace_time` (a run late
by more than that is skipped, the next one comes on time). A job that raises is logged with its
name, counted in `wirewatch_job_failures_total`, and runs again at its next time: one broken
job never stops the others or the service.

Jobs:
- `outbox.sweep`: wakes the notifier so retries and released alerts go out on time even when
  nothing new arrives (new alerts wake it at once);
- `retention`: deletes posts older than `jobs.retention_days` (0 keeps everything);
- `listener.reconcile`: the listener's own job (re-reads recent history), added by the app;
- digests: added by `bot.delivery.digest.schedule_digests` when that module is present.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.service.health import Metrics
from bot.service.log import component
from bot.settings import Settings
from storage.media import MediaFolder
from storage.store import Store

log = logging.getLogger(__name__)

OUTBOX_JOB = "outbox.sweep"
RETENTION_JOB = "retention"
MEDIA_RETENTION_JOB = "media.retention"
RETENTION_EVERY = 3600  # seconds between retention runs: deleting by day needs no more
# The scheduler's defaults for every job: a slow run is never doubled, missed runs collapse into
# one, and a run more than a minute late is skipped (the next one comes on time).
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}


def guarded(
    name: str, func: Callable[[], Awaitable[Any]], metrics: Metrics | None = None
) -> Callable[[], Awaitable[None]]:
    """The job as APScheduler runs it: logged with context, counted, never raising."""

    @functools.wraps(func)
    async def run() -> None:
        component.set(f"job:{name}")
        if metrics is not None:
            metrics.job_runs.labels(name).inc()
        try:
            await func()
        except Exception:
            # The scheduler would log it too, but without our counter; swallowing is not
            # hiding here: the traceback is logged and the next run is scheduled as usual.
            if metrics is not None:
                metrics.job_failures.labels(name).inc()
            log.exception("job %s failed; it runs again at its next time", name)

    return run


def add_job(
    scheduler: Any,
    name: str,
    func: Callable[[], Awaitable[Any]],
    *,
    seconds: int,
    metrics: Metrics | None = None,
    grace: int | None = None,
    first_in: float | None = None,
) -> None:
    kwargs: dict[str, Any] = {}
    if first_in is not None:
        kwargs["next_run_time"] = datetime.now(UTC) + timedelta(seconds=first_in)
    scheduler.add_job(
        guarded(name, func, metrics),
        "interval",
        seconds=seconds,
        id=name,
        name=name,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=grace if grace is not None else max(1, seconds),
        replace_existing=True,
        **kwargs,
    )


async def run_retention(store: Store, days: int, *, now: float | None = None) -> int:
    """Delete posts older than `days` days; returns how many went. 0 days keeps everything."""
    if days <= 0:
        return 0
    cutoff = int((time.time() if now is None else now) - days * 86400)
    removed = await store.posts.delete_older_than(cutoff)
    if removed:
        log.info("retention: deleted %d posts older than %d days", removed, days)
    return removed


def schedule_jobs(
    scheduler: Any,
    store: Store,
    settings: Settings,
    *,
    wake_notifier: Callable[[], None] | None,
    metrics: Metrics | None = None,
    media: MediaFolder | None = None,
) -> list[str]:
    """Add the app's own jobs; returns their ids."""
    ids: list[str] = []
    if wake_notifier is not None:
        wake = wake_notifier

        async def sweep() -> None:
            wake()

        add_job(
            scheduler, OUTBOX_JOB, sweep, seconds=settings.jobs.outbox_interval, metrics=metrics
        )
        ids.append(OUTBOX_JOB)
    if settings.jobs.retention_days > 0:
        days = settings.jobs.retention_days

        async def retention() -> None:
            await run_retention(store, days)

        # First run soon after start, so a long-stopped service trims at once.
        add_job(
            scheduler,
            RETENTION_JOB,
            retention,
            seconds=RETENTION_EVERY,
            metrics=metrics,
            grace=RETENTION_EVERY,
            first_in=60,
        )
        ids.append(RETENTION_JOB)
    if media is not None and settings.capture.media_retention_days > 0:
        folder, media_days = media, settings.capture.media_retention_days

        async def media_retention() -> None:
            cutoff = int(time.time() - media_days * 86400)
            removed = await folder.expire(cutoff)
            if removed:
                log.info(
                    "retention: removed %d media files older than %d days", removed, media_days
                )

        add_job(
            scheduler,
            MEDIA_RETENTION_JOB,
            media_retention,
            seconds=RETENTION_EVERY,
            metrics=metrics,
            grace=RETENTION_EVERY,
            first_in=90,
        )
        ids.append(MEDIA_RETENTION_JOB)
    return ids
