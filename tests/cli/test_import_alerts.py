"""`wirewatch import --alert` drafts its alerts as the service would: a quote in another
language than the reader's is marked for translation when translations are configured (and the
translation then follows), and only the import's own alerts are drafted, not those a running
or stopped service left waiting for their drafts. Real CLI, SQLite and PostgreSQL, a local
LibreTranslate-speaking server. Texts written for this test."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.ingest.drafter import request
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store
from tests.delivery.test_translation import ENGLISH, provider_server

QUOTE = "Обмін полоненими відбудеться наступного тижня, повідомив секретар ради."


async def _provision(db: str) -> tuple[int, int]:
    """An English and a Ukrainian reader, a rule, and an alert the service queued for its
    draft before it stopped (its drafter writes it when it runs again, with its settings)."""
    store = await Store.open(db)
    try:
        await store.sources.upsert("rada_demo", attribution={"person_en": "Ihor Bondar"})
        en = await store.people.add(role="journalist", user_id=8101, lang="en")
        await store.people.add(role="journalist", user_id=8102, lang="uk")
        await store.rules.add("полонений", rule_to_json(parse_rule("полонений")))
        src = await store.sources.ensure("rada_demo")
        when = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
        live = "Полонених повернули додому сьогодні вранці."
        post_id = await store.posts.insert(src.id, Post("rada_demo", 1, when, live), live, live)
        left = await store.alerts.enqueue(
            person_id=en.id,
            post_id=post_id,
            kind="new",
            version=1,
            payload=request(en, rule="полонений", spans=()),
            drafting=True,
        )
        assert left is not None
        return en.id, left
    finally:
        await store.close()


async def _alerts(db: str, person_id: int) -> list[tuple[int, str, str, dict[str, object]]]:
    store = await Store.open(db)
    try:
        return [
            (a.id, a.kind, a.status, a.payload) for a in await store.alerts.for_person(person_id)
        ]
    finally:
        await store.close()


async def _translate(db: str, url: str) -> int:
    store = await Store.open(db)
    try:
        return await TranslationWorker(store, LibreTranslate(url), timeout=5).drain_once()
    finally:
        await store.close()


def test_import_alert_marks_translations_and_drafts_only_its_own_alerts(
    tmp_path: Path,
    db_target: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = db_target
    en_id, left = asyncio.run(_provision(db))
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps(
            {"channel": "rada_demo", "id": 2, "date": "2026-02-02T12:00:00+02:00", "text": QUOTE},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )

    async def scenario() -> int:
        async with provider_server() as server:
            monkeypatch.setenv("WIREWATCH_TRANSLATION__PROVIDER", "libretranslate")
            monkeypatch.setenv("WIREWATCH_TRANSLATION__LIBRETRANSLATE_URL", server.url)
            # The CLI runs its own event loop: in a thread, while the server answers here.
            code = await asyncio.to_thread(main, ["import", str(feed), "--alert", "--db", db])
            assert code == 0, capsys.readouterr().err
            return await _translate(db, server.url)

    translated = asyncio.run(scenario())
    alerts = asyncio.run(_alerts(db, en_id))
    by_id = {a[0]: a for a in alerts}
    # The service's alert is left for the service's drafter.
    assert by_id[left][2] == "drafting"
    (story,) = [a for a in alerts if a[0] != left and a[1] == "new"]
    assert story[2] == "pending"
    assert "translate" in story[3], "the imported alert was drafted without the translation mark"
    # ... so the translation worker answers it with a reply to the alert.
    assert translated == 1
    (reply,) = [a for a in alerts if a[1] == "translation"]
    assert ENGLISH in str(reply[3]["plain"])
