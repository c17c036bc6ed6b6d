"""A translation an alert asked for is owed until it is made or the alert is older than
`WIREWATCH_TRANSLATION__MAX_AGE`: a service stopped overnight answers it when it starts again;
past the bound it is given up with a log line and a failed record, never silently dropped.
Real pipeline, store (SQLite and PostgreSQL) and notifier over the fake Bot API, a local
LibreTranslate-speaking server; time is driven through the worker's clock and the store's
enqueue time, no sleeping. Texts written for these tests."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

import storage.alerts
from bot.delivery.notifier import Notifier
from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.db import now
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings
from tests.delivery.test_translation import ENGLISH, provider_server
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

QUOTE = "Полонених обміняли вночі, повідомила уповноважена."
LATER = "Ще двох полонених повернули сьогодні вранці."
HOUR = 3600


async def _desk(target: str) -> tuple[Store, int]:
    store = await Store.open(target)
    await store.sources.upsert("ombudsman_demo", attribution={"person_en": "Daryna Lysenko"})
    en = await store.people.add(role="journalist", user_id=9101, lang="en")
    await store.rules.add("полонений", rule_to_json(parse_rule("полонений")))
    return store, en.id


async def _post_at(
    monkeypatch: pytest.MonkeyPatch, pipe: Pipeline, message_id: int, text: str, at: int
) -> None:
    """The post's alert queued (and drafted) at `at`."""
    with monkeypatch.context() as m:
        m.setattr(storage.alerts, "now", lambda: at)
        when = datetime.fromtimestamp(at, UTC)
        await pipe.handle(Post("ombudsman_demo", message_id, when, text))


async def test_a_translation_owed_before_a_stop_is_made_after_the_restart(
    db_target: str, monkeypatch: pytest.MonkeyPatch, fakebot: FakeBotAPI
) -> None:
    """The alert was queued three hours before the service started again (stopped
    overnight, translator down): its translation is still made."""
    store, en_id = await _desk(db_target)
    try:
        await _post_at(monkeypatch, Pipeline(store, translate=True), 1, QUOTE, now() - 3 * HOUR)
        (alert,) = await store.alerts.for_person(en_id)
        assert alert.payload["translate"]["target"] == "en"
        async with provider_server() as server:
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 1
        _, reply = await store.alerts.for_person(en_id)
        assert reply.kind == "translation" and reply.reply_to_alert == alert.id
        assert ENGLISH in reply.payload["plain"] and reply.status == "pending"
        # The alert, still in the outbox after the stop, goes out; its translation as a reply.
        await Notifier(store, fakebot.bot(), settings(fakebot)).drain_once()
        story, translation = fakebot.sent_messages(9101)
        assert ENGLISH in (translation.text or "") and translation.reply_to == story.message_id
    finally:
        await store.close()


async def test_past_the_bound_a_translation_is_given_up_out_loud_and_for_good(
    db_target: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store, en_id = await _desk(db_target)
    pipe = Pipeline(store, translate=True)
    t0 = now()
    try:
        async with provider_server() as server:
            translator = LibreTranslate(server.url)
            # The service runs at t0 with nothing owed, then the alert is queued and the
            # service stops before the worker gets to it.
            running = TranslationWorker(store, translator, max_age=HOUR, clock=lambda: t0)
            assert await running.drain_once() == 0
            await _post_at(monkeypatch, pipe, 1, QUOTE, t0)
            # Two hours later it starts again; another alert was queued half an hour ago
            # (by a listener on another machine, or just before this start).
            await _post_at(monkeypatch, pipe, 2, LATER, t0 + 90 * 60)
            old, recent = await store.alerts.for_person(en_id)
            restarted = TranslationWorker(
                store, translator, max_age=HOUR, clock=lambda: t0 + 2 * HOUR
            )
            with caplog.at_level(logging.WARNING, logger="bot.delivery.translation"):
                assert await restarted.drain_once() == 1  # the recent one is answered
            requests = len(server.requests)
            assert requests == 1  # nobody asked the translator about the old one
            replies = {
                a.reply_to_alert: a
                for a in await store.alerts.for_person(en_id)
                if a.kind == "translation"
            }
            assert ENGLISH in replies[recent.id].payload["plain"]
            gave_up = replies[old.id]
            # Recorded, never sent: failed, with the reason the log gives too.
            assert gave_up.status == "failed"
            assert gave_up.last_error is not None and "older than 1 h" in gave_up.last_error
            assert [a for a in await store.alerts.due() if a.id == gave_up.id] == []
            # Counted apart from failures: nothing went wrong in a delivery.
            counts = await store.alerts.counts()
            assert counts.get("given_up") == 1 and "failed" not in counts
            # The worker's own lines about that alert: an earlier test that set up the
            # service's logging leaves the root at INFO, and migrations' lines name "0001".
            (line,) = [
                r.getMessage()
                for r in caplog.records
                if r.name == "bot.delivery.translation" and f"alert {old.id} " in r.getMessage()
            ]
            assert "given up" in line and "WIREWATCH_TRANSLATION__MAX_AGE" in line
            # Settled: a later round, or another restart, neither asks again nor repeats it.
            again = TranslationWorker(store, translator, max_age=HOUR, clock=lambda: t0 + 3 * HOUR)
            assert await again.drain_once() == 0
            assert len(server.requests) == requests
            kinds = [a.kind for a in await store.alerts.for_person(en_id)]
            assert kinds.count("translation") == 2
    finally:
        await store.close()


async def test_a_translation_owed_by_an_alert_stamped_out_of_id_order_is_made(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drafter is behind (two alerts wait for their drafts, queued 20 minutes ago), and
    the later-queued one was stamped a second earlier (another process stamped it first and
    inserted it second). The floor used to stop at the lowest id's time, past the other
    alert, whose translation was then never made nor given up."""
    store, en_id = await _desk(db_target)
    try:
        pipe = Pipeline(store, translate=True, defer_drafts=True)
        queued = now() - 20 * 60
        await _post_at(monkeypatch, pipe, 1, QUOTE, queued)
        await _post_at(monkeypatch, pipe, 2, LATER, queued - 1)
        assert {a.status for a in await store.alerts.for_person(en_id)} == {"drafting"}
        async with provider_server() as server:
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 0  # nothing asked for yet: no drafts
            await pipe.drafter.run()
            assert await worker.drain_once() == 2
        replies = [a for a in await store.alerts.for_person(en_id) if a.kind == "translation"]
        assert len(replies) == 2
    finally:
        await store.close()


async def test_a_floor_written_by_a_clock_ahead_skips_no_alert(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker last ran on a machine whose clock was an hour ahead (or the clock was set
    back since): the floor it kept lies in this clock's future. An alert queued now, by this
    clock, is still translated; it used to sit below the floor, never made nor given up."""
    store, en_id = await _desk(db_target)
    t0 = now()
    try:
        async with provider_server() as server:
            translator = LibreTranslate(server.url)
            ahead = TranslationWorker(store, translator, clock=lambda: t0 + HOUR)
            assert await ahead.drain_once() == 0
            await _post_at(monkeypatch, Pipeline(store, translate=True), 1, QUOTE, t0)
            here = TranslationWorker(store, translator, clock=lambda: t0 + 5)
            assert await here.drain_once() == 1
        kinds = [a.kind for a in await store.alerts.for_person(en_id)]
        assert kinds == ["new", "translation"]
    finally:
        await store.close()


async def test_an_answer_that_is_not_json_does_not_stop_the_translations_behind_it(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something in front of the translator answers 200 with a web page. Each owed alert gets
    its "translation unavailable" reply; the round used to end with a JSON error at the
    oldest alert, every round, so no translation behind it was made for a whole day."""
    store, en_id = await _desk(db_target)
    t0 = now()
    try:
        pipe = Pipeline(store, translate=True)
        await _post_at(monkeypatch, pipe, 1, QUOTE, t0 - 60)
        await _post_at(monkeypatch, pipe, 2, LATER, t0 - 30)
        async with provider_server() as server:
            server.mode = "html"
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 2
            server.mode = "ok"
            assert await worker.drain_once() == 0  # answered: nothing owed any more
        replies = [a for a in await store.alerts.for_person(en_id) if a.kind == "translation"]
        assert len(replies) == 2
        for reply in replies:
            assert "LibreTranslate" in json.dumps(reply.payload, ensure_ascii=False)
    finally:
        await store.close()


class _Flaky:
    """A provider whose client raises something other than TranslationError on one text
    (a library bug, an unexpected answer), and translates the others."""

    name = "Flaky"

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        if text == QUOTE:
            raise KeyError("translations")
        return ENGLISH


async def test_an_unexpected_error_on_one_alert_does_not_hold_up_the_others(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, en_id = await _desk(db_target)
    t0 = now()
    try:
        pipe = Pipeline(store, translate=True)
        await _post_at(monkeypatch, pipe, 1, QUOTE, t0 - 60)  # the oldest owed one fails
        await _post_at(monkeypatch, pipe, 2, LATER, t0 - 30)
        worker = TranslationWorker(store, _Flaky(), timeout=5)
        assert await worker.drain_once() == 2
        first, second = [
            a for a in await store.alerts.for_person(en_id) if a.kind == "translation"
        ]
        texts = sorted(json.dumps(a.payload, ensure_ascii=False) for a in (first, second))
        assert any("Flaky: KeyError" in t for t in texts)
        assert any(ENGLISH in t for t in texts)
    finally:
        await store.close()


async def test_no_translation_is_made_for_someone_removed_from_the_desk(
    db_target: str, monkeypatch: pytest.MonkeyPatch, fakebot: FakeBotAPI
) -> None:
    """Removed before the worker got to their alert: the translator is not asked (a paid
    provider bills every character), the translation is settled, and nothing is sent."""
    store, en_id = await _desk(db_target)
    try:
        await _post_at(monkeypatch, Pipeline(store, translate=True), 1, QUOTE, now())
        (alert,) = await store.alerts.for_person(en_id)
        await store.people.remove(en_id)
        async with provider_server() as server:
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=5)
            assert await worker.drain_once() == 0
            assert server.requests == []
            assert await worker.drain_once() == 0
        (reply,) = [a for a in await store.alerts.for_person(en_id) if a.kind == "translation"]
        assert reply.reply_to_alert == alert.id and reply.status == "failed"
        assert reply.last_error == "translation given up: the person was removed from the desk"
        await Notifier(store, fakebot.bot(), settings(fakebot)).drain_once()
        assert fakebot.sent_messages(9101) == []
    finally:
        await store.close()
