"""Scheduled jobs: every job declares its limits, a failing job is logged and counted without
stopping the scheduler, and retention deletes only what is old enough."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.ingest.pipeline import Pipeline
from bot.service.health import Metrics
from bot.service.jobs import OUTBOX_JOB, RETENTION_JOB, add_job, run_retention, schedule_jobs
from bot.settings import Settings
from storage.records import Post
from storage.store import Store


async def test_every_job_sets_max_instances_coalesce_and_grace(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    scheduler = AsyncIOScheduler(timezone="Europe/Kyiv")
    try:
        settings = Settings(db=tmp_path / "w.db", jobs={"retention_days": 30})
        ids = schedule_jobs(scheduler, store, settings, wake_notifier=lambda: None)
        assert ids == [OUTBOX_JOB, RETENTION_JOB]
        for job in scheduler.get_jobs():
            assert job.max_instances == 1
            assert job.coalesce is True
            assert job.misfire_grace_time is not None and job.misfire_grace_time >= 1
    finally:
        await store.close()


async def test_no_retention_job_when_posts_are_kept_forever(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    scheduler = AsyncIOScheduler(timezone="Europe/Kyiv")
    try:
        ids = schedule_jobs(scheduler, store, Settings(db=tmp_path / "w.db"), wake_notifier=None)
        assert ids == []
    finally:
        await store.close()


async def test_a_failing_job_is_logged_counted_and_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    scheduler = AsyncIOScheduler(timezone="UTC")
    runs: list[float] = []
    fine: list[float] = []

    async def bad() -> None:
        runs.append(time.monotonic())
        raise ValueError("broken job")

    async def good() -> None:
        fine.append(time.monotonic())

    add_job(scheduler, "bad", bad, seconds=1, metrics=metrics, first_in=0)
    add_job(scheduler, "good", good, seconds=1, metrics=metrics, first_in=0)
    with caplog.at_level(logging.ERROR):
        scheduler.start()
        try:
            async with asyncio.timeout(10):
                while len(runs) < 2 or len(fine) < 2:  # noqa: ASYNC110 - APScheduler runs them
                    await asyncio.sleep(0.05)
        finally:
            scheduler.shutdown(wait=False)
    assert metrics.job_failures.labels("bad")._value.get() >= 2
    assert metrics.job_failures.labels("good")._value.get() == 0
    assert metrics.job_runs.labels("good")._value.get() >= 2
    logged = [r for r in caplog.records if "job bad failed" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_retention_deletes_only_old_posts(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
        posts = [
            Post("oblast_news", i, now - timedelta(days=age), f"Повідомлення про ремонт {i}")
            for i, age in enumerate([400, 91, 89, 1], start=1)
        ]
        await Pipeline(store, alert=False).handle_batch(posts)
        assert await run_retention(store, 0, now=now.timestamp()) == 0
        assert await store.posts.count() == 4
        assert await run_retention(store, 90, now=now.timestamp()) == 2
        left = sorted(p.message_id for p in await store.posts.recent(limit=10))
        assert left == [3, 4]
        # The FTS index follows the rows (external content, delete trigger).
        assert await store.db.integrity_check() == "ok"
    finally:
        await store.close()
