"""`wirewatch doctor` on an outbox with alerts still waiting for their drafts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store


async def _queue_undrafted(db: Path) -> None:
    store = await Store.open(db)
    try:
        await store.people.add(role="journalist", user_id=7001, lang="uk")
        await store.rules.add("водопостачання", rule_to_json(parse_rule("водопостачання")))
        pipe = Pipeline(store, defer_drafts=True)  # the service's pipeline; no drafter runs
        text = "Водопостачання у лівобережних районах відновлять до вечора."
        when = datetime(2026, 5, 4, 7, 30, tzinfo=UTC)
        assert (await pipe.handle(Post("city_water", 1, when, text))).alerts == 1
    finally:
        await store.close()


def test_doctor_counts_the_alerts_waiting_for_their_drafts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # It said "0 pending, 0 held, 0 failed, 0 sent" over an outbox of undrafted alerts: an
    # operator asking why nothing arrives was told the outbox was empty.
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    db = tmp_path / "w.sqlite"
    asyncio.run(_queue_undrafted(db))
    assert main(["doctor", "--json", "--db", str(db)]) in (0, 1)
    out, _ = capsys.readouterr()
    (outbox,) = [c for c in json.loads(out) if c["check"] == "outbox"]
    assert "1 drafting" in outbox["detail"], outbox


def test_doctor_does_not_create_the_database_it_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run from the wrong folder (or with a typo in WIREWATCH_DB), doctor created an empty
    # database there and reported "OK database … 0 posts": the check that should have found
    # the mistake hid it, and left a stray archive behind.
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    db = tmp_path / "var" / "wirewatch.db"
    assert main(["doctor", "--json", "--db", str(db)]) in (0, 1)
    out, _ = capsys.readouterr()
    checks = {c["check"]: c for c in json.loads(out)}
    assert not db.exists() and not db.parent.exists()
    assert checks["database"]["status"] == "missing", checks["database"]
    assert str(db) in checks["database"]["detail"]
    assert "does not exist" in checks["database"]["detail"]
