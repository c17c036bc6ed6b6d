"""The operator's view, in process: /healthz and /metrics over real HTTP on 127.0.0.1, the
supervisor's restarts, and logs with context, JSON and no secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.service.app as app_module
import storage.alerts
from bot.delivery.digest import release_quiet
from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.service.app import App
from bot.service.log import REDACTED, Redactor, component, setup_logging
from bot.settings import Settings
from tests.fakebot import DEFAULT_TOKEN
from tests.service.support import free_port, post_line, provision


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


async def _until(check: Any, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling plain state, no event to wait on
            await asyncio.sleep(0.02)


@pytest.fixture
async def running(tmp_path: Path) -> Any:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db)
    feed.write_text("".join(post_line(n) + "\n" for n in range(1, 4)), encoding="utf-8")
    port = free_port()
    settings = Settings(db=db, health_port=port)
    app = App(settings, feeds=[feed], feed_poll=0.05)
    await app.start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        await app.shutdown()


async def test_healthz_says_degraded_and_why(running: Any) -> None:
    app, base = running
    # Stored, queued, and drafted by the drafter's task just after each commit.
    await _until(
        lambda: (
            app.metrics.ingested.labels("new")._value.get() == 3
            and app.pipeline.drafter.drafted == 3
        )
    )
    status, text = await _get(base + "/healthz")
    body = json.loads(text)
    assert status == 200
    assert body["status"] == "degraded"
    assert any("no bot token" in r for r in body["degraded"])
    assert body["posts"] == 3
    assert body["outbox"] == {"pending": 3}  # no token: alerts wait
    assert body["drafter"] == {"drafted": 3, "failed": 0, "last_error": None}
    assert body["components"]["feed:feed.jsonl"]["up"] is True
    assert "retention" not in body["jobs"]  # retention_days=0 keeps everything


async def test_metrics_count_what_happened(running: Any) -> None:
    app, base = running
    await _until(
        lambda: (
            app.metrics.ingested.labels("new")._value.get() == 3
            and app.pipeline.drafter.drafted == 3
        )
    )
    status, text = await _get(base + "/metrics")
    assert status == 200
    assert 'wirewatch_posts_ingested_total{result="new"} 3.0' in text
    assert "wirewatch_alerts_enqueued_total 3.0" in text
    assert 'wirewatch_outbox_alerts{status="pending"} 3.0' in text
    assert 'wirewatch_component_up{component="feed:feed.jsonl"} 1.0' in text
    assert 'wirewatch_source_last_post_age_seconds{source="regional_admin"}' in text
    offset = next(line for line in text.splitlines() if line.startswith("wirewatch_feed_offset"))
    assert float(offset.split()[-1]) > 0


async def test_a_failing_component_is_restarted_and_reported(
    running: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app, base = running
    monkeypatch.setattr(app_module, "RESTART_MIN", 0.01)
    calls = 0
    hold = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError(f"boom {calls}")
        await hold.wait()

    with caplog.at_level(logging.ERROR):
        app._spawn("flaky", flaky)
        await _until(lambda: calls == 3 and app.components["flaky"].up)
    state = app.components["flaky"]
    assert state.restarts == 2
    assert state.last_error == "RuntimeError: boom 2"
    failures = [r for r in caplog.records if "flaky failed" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None
    _, text = await _get(base + "/metrics")
    assert 'wirewatch_component_restarts_total{component="flaky"} 2.0' in text
    # The feed kept running beside it.
    assert app.components["feed:feed.jsonl"].up
    hold.set()


async def test_healthz_is_503_while_a_component_is_down(
    running: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, base = running
    monkeypatch.setattr(app_module, "RESTART_MIN", 30.0)

    async def broken() -> None:
        raise OSError("disk gone")

    app._spawn("broken", broken)
    await _until(lambda: app.components["broken"].restarts == 1)
    status, text = await _get(base + "/healthz")
    assert status == 503
    body = json.loads(text)
    assert body["status"] == "fail"
    assert body["components"]["broken"] == {
        "up": False,
        "restarts": 1,
        "last_error": "OSError: disk gone",
    }


def test_redactor_hides_known_secrets_and_any_bot_token() -> None:
    redact = Redactor(["s3cr3t-hash-value"])
    line = f"POST https://api.telegram.org/bot{DEFAULT_TOKEN}/sendMessage hash=s3cr3t-hash-value"
    out = redact(line)
    assert DEFAULT_TOKEN not in out and "s3cr3t-hash-value" not in out
    assert out.count(REDACTED) == 2
    assert redact("message 123 at 10:45") == "message 123 at 10:45"


def test_json_logs_carry_context_and_never_the_token(tmp_path: Path) -> None:
    settings = Settings(
        db=tmp_path / "w.db",
        log_json=True,
        bot={"token": DEFAULT_TOKEN},
        telegram={"api_id": 1, "api_hash": "0123456789abcdef0123456789abcdef"},
    )
    stream = io.StringIO()
    handler = setup_logging(settings, stream=stream)
    try:
        token = component.set("notifier")
        try:
            logger = logging.getLogger("wirewatch.test")
            logger.warning("sending with %s", DEFAULT_TOKEN)
            try:
                raise ConnectionError(f"https://x/bot{DEFAULT_TOKEN}/getMe failed")
            except ConnectionError:
                logger.exception("request failed, hash %s", "0123456789abcdef0123456789abcdef")
        finally:
            component.reset(token)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [x["component"] for x in lines] == ["notifier", "notifier"]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "wirewatch.test"
    assert "ConnectionError" in lines[1]["exception"]
    raw = stream.getvalue()
    assert DEFAULT_TOKEN not in raw
    assert DEFAULT_TOKEN.split(":")[1] not in raw
    assert "0123456789abcdef0123456789abcdef" not in raw


async def test_a_feed_line_that_keeps_failing_is_skipped_not_retried_forever(
    tmp_path: Path,
) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db)
    # A real fault inside SQLite: storing post 2 always fails, whatever we do.
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON posts WHEN NEW.message_id = 2"
        " BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
    )
    con.commit()
    con.close()
    feed.write_text("".join(post_line(n) + "\n" for n in range(1, 4)), encoding="utf-8")
    port = free_port()
    app = App(Settings(db=db, health_port=port), feeds=[feed], feed_poll=0.05)
    await app.start()
    try:
        # Posts 1 and 3 are stored: the bad line did not stall the feed behind it.
        await _until(lambda: app.metrics.ingested.labels("new")._value.get() == 2)
        await _until(lambda: app.feed_skipped == 1)
        _, text = await _get(f"http://127.0.0.1:{port}/healthz")
        assert json.loads(text)["feed_skipped"] == 1
        assert app.store is not None
        skipped = await app.store.state.get("feed.last_skipped")
        assert skipped is not None and "/2" in skipped[0] and "poisoned row" in skipped[0]
    finally:
        await app.shutdown()


async def test_given_up_translations_are_told_apart_from_failures(
    running: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A translation owed longer than WIREWATCH_TRANSLATION__MAX_AGE is given up: /healthz
    and /metrics show it as given up, not as an alert that failed."""
    app, base = running
    store = app.store
    person = await store.people.add(role="journalist", user_id=6101, lang="en")
    # A worker looked at t0 with nothing owed; the alert is queued then, and the next look
    # comes two hours later, past a one-hour bound.
    t0 = int(time.time()) - 2 * 3600
    provider = LibreTranslate("http://127.0.0.1:9")
    assert (
        await TranslationWorker(store, provider, max_age=3600, clock=lambda: t0).drain_once() == 0
    )
    monkeypatch.setattr(storage.alerts, "now", lambda: t0)
    alert_id = await store.alerts.enqueue(
        person_id=person.id,
        post_id=None,
        kind="new",
        version=1,
        payload={"messages": [], "translate": {"text": "Текст", "target": "en"}},
    )
    monkeypatch.undo()
    worker = TranslationWorker(store, provider, max_age=3600)
    app.translations = worker
    assert await worker.drain_once() == 0 and worker.given_up == 1
    (reply,) = [a for a in await store.alerts.for_person(person.id) if a.kind == "translation"]
    assert reply.reply_to_alert == alert_id and reply.status == "failed"

    _, text = await _get(base + "/healthz")
    outbox = json.loads(text)["outbox"]
    assert outbox.get("given_up") == 1 and "failed" not in outbox
    _, text = await _get(base + "/metrics")
    assert 'wirewatch_outbox_alerts{status="given_up"} 1.0' in text
    assert 'wirewatch_outbox_alerts{status="failed"} 0.0' in text
    assert "wirewatch_translations_given_up_total 1.0" in text


async def test_alerts_of_a_removed_person_show_as_cancelled_not_failed(running: Any) -> None:
    """What was owed to someone removed from the desk is settled unsent: /healthz and /metrics
    count it as cancelled, not as deliveries that failed (the doctor no longer warns of it)."""
    app, base = running
    store = app.store
    person = await store.people.add(role="journalist", user_id=6102, lang="en")
    for n in range(2):
        await store.alerts.enqueue(
            person_id=person.id,
            post_id=None,
            kind="new",
            version=n + 1,
            payload={"messages": [{"html": f"story {n}", "buttons": []}], "plain": ""},
            held=True,
        )
    await store.people.remove(person.id)
    assert await release_quiet(store) == 0
    # The running service may queue alerts of its own for them meanwhile: at least ours.
    _, text = await _get(base + "/healthz")
    outbox = json.loads(text)["outbox"]
    assert outbox.get("cancelled", 0) >= 2 and "failed" not in outbox
    _, text = await _get(base + "/metrics")
    shown = re.search(r'wirewatch_outbox_alerts\{status="cancelled"\} (\d+)\.0', text)
    assert shown is not None and int(shown.group(1)) >= 2
    assert 'wirewatch_outbox_alerts{status="failed"} 0.0' in text
