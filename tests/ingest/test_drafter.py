"""Drafts written after the commit (bot/ingest/drafter.py): a post's alerts are stored with it
and wait, unsent, for their drafts; a drafter that starts later (after a crash) writes the same
drafts the pipeline would have written at once; a draft that cannot be written fails its alert
and no other; and a chat's alerts never overtake one still waiting for its draft."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.drafter as drafter_mod
from bot.ingest.drafter import Drafter
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store

T0 = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)
RULE = "відключення OR blackout"
POSTS = [
    "Графік відключень на завтра: дві черги, по чотири години кожна.",
    "Оновлення: відключення скасовано в трьох областях після ремонту лінії.",
    "Сьогодні без новин щодо мережі, лише планові роботи.",
    "Energy ministry: no blackout is planned for the capital tonight.",
]


def post(mid: int, text: str) -> Post:
    return Post(
        channel="grid_ops", message_id=mid, date=T0 + timedelta(minutes=20 * mid), text=text
    )


async def desk(url: str) -> Store:
    store = await Store.open(url)
    await store.people.add(role="journalist", user_id=501, lang="uk")
    await store.people.add(role="journalist", user_id=502, lang="en", tz="Europe/London")
    await store.rules.add(RULE, rule_to_json(parse_rule(RULE)))
    return store


async def outbox(store: Store) -> list[tuple[Any, ...]]:
    """Every alert as the journalist gets it, keyed by who and which post."""
    out = []
    for person in await store.people.list():
        for a in await store.alerts.for_person(person.id):
            post_row = await store.posts.get_by_id(a.post_id) if a.post_id else None
            thread = await store.alerts.get(a.reply_to_alert) if a.reply_to_alert else None
            out.append(
                (
                    person.user_id,
                    post_row.message_id if post_row else None,
                    a.kind,
                    a.status,
                    a.payload,
                    thread.post_id and (await store.posts.get_by_id(thread.post_id)).message_id
                    if thread
                    else None,
                )
            )
    return sorted(out, key=lambda r: (r[0], r[1], r[2]))


async def test_a_drafter_after_a_crash_writes_the_drafts_the_pipeline_would_have(
    new_db: Callable[[], str],
) -> None:
    inline_url, deferred_url = new_db(), new_db()
    inline = await desk(inline_url)
    try:
        pipe = Pipeline(inline)
        for mid, text in enumerate(POSTS, 1):
            await pipe.handle(post(mid, text))
        expected = await outbox(inline)
    finally:
        await inline.close()
    # Three posts match, for two people; the second is a follow-up on the first.
    assert len(expected) == 6
    assert {r[3] for r in expected} == {"pending"}
    assert [r[5] for r in expected if r[1] == 2] == [1, 1]

    store = await desk(deferred_url)
    try:
        pipe = Pipeline(store, defer_drafts=True)
        for mid, text in enumerate(POSTS, 1):
            result = await pipe.handle(post(mid, text))
            assert result.stored == 1
        # Stored and queued, nothing drafted: the process dies here.
        queued = await outbox(store)
        assert [(r[0], r[1], r[3]) for r in queued] == [(r[0], r[1], "drafting") for r in expected]
        assert all("draft" in r[4] and "plain" not in r[4] for r in queued)
        assert await store.alerts.due() == []
        assert await store.alerts.depth() == 6
    finally:
        await store.close()

    store = await Store.open(deferred_url)
    try:
        woken: list[int] = []
        drafter = Drafter(store, on_drafted=lambda: woken.append(1))
        assert await drafter.run() == 6
        assert woken
        assert await outbox(store) == expected
        assert await drafter.run() == 0
        due = await store.alerts.due()
        assert sorted(a.id for a in due) == [a.id for a in due] and len(due) == 6
    finally:
        await store.close()


async def test_a_draft_that_cannot_be_written_fails_its_alerts_only(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await desk(db_target)
    try:
        pipe = Pipeline(store, defer_drafts=True)
        await pipe.handle(post(1, POSTS[0]))
        await pipe.handle(post(4, POSTS[3]))
        real = drafter_mod.compose_with_origin

        async def broken_for_one(store: Store, kind: Any, p: Any, *a: Any, **kw: Any) -> Any:
            if p.message_id == 1:
                raise ValueError("a sentence the quote chooser cannot cut")
            return await real(store, kind, p, *a, **kw)

        monkeypatch.setattr(drafter_mod, "compose_with_origin", broken_for_one)
        assert await pipe.drafter.run() == 4
        rows = await outbox(store)
        assert [(r[1], r[3]) for r in rows] == [(1, "failed"), (4, "pending")] * 2
        for person in await store.people.list():
            failed = [a for a in await store.alerts.for_person(person.id) if a.status == "failed"]
            assert failed[0].last_error is not None
            assert failed[0].last_error.startswith("draft failed: ValueError: a sentence")
        assert pipe.drafter.failed == 2
        status = pipe.drafter.status()
        assert status["drafted"] == 2 and "ValueError: a sentence" in status["last_error"]
        # The post itself is stored and searchable whatever became of its drafts.
        assert await store.posts.get_by_link("grid_ops", 1) is not None
    finally:
        await store.close()


async def test_an_alert_waiting_for_its_draft_holds_back_the_chats_later_alerts(
    db_target: str,
) -> None:
    store = await desk(db_target)
    try:
        pipe = Pipeline(store, defer_drafts=True)
        await pipe.handle(post(1, POSTS[0]))
        first = await store.posts.get_by_link("grid_ops", 1)
        await pipe.handle(post(3, POSTS[2]))
        later = await store.posts.get_by_link("grid_ops", 3)
        assert first is not None and later is not None
        person = (await store.people.list())[0]
        # An alert of the same chat queued after, with its draft written (an edit's, say).
        late_id = await store.alerts.enqueue(
            person_id=person.id,
            post_id=later.id,
            kind="new",
            version=1,
            payload={"messages": [{"html": "later", "buttons": []}], "plain": "later"},
        )
        assert late_id is not None
        due = await store.alerts.due()
        assert due == [], "an alert went out before the chat's earlier one was drafted"
        await pipe.drafter.run()
        due = await store.alerts.due()
        mine = [a.id for a in due if a.person_id == person.id]
        assert len(mine) == 2 and mine == sorted(mine) and mine[-1] == late_id
    finally:
        await store.close()


async def test_a_drafter_never_drafts_an_alert_whose_transaction_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One SQLite connection serves every task, so a drafter reading the outbox while an
    import's transaction is open would see its uncommitted alerts. If that transaction rolls
    back and the next one reuses the alert ids (SQLite hands out max(id) + 1 again), the draft
    of the vanished alert landed on another post's alert."""
    store = await desk(str(tmp_path / "w.db"))
    try:
        pipe = Pipeline(store, defer_drafts=True)
        await pipe.handle(post(1, POSTS[0]))
        await pipe.drafter.run()
        composing, release = asyncio.Event(), asyncio.Event()
        real = drafter_mod.compose_with_origin

        async def slow(store: Store, kind: Any, p: Any, *a: Any, **kw: Any) -> Any:
            composing.set()
            await release.wait()
            return await real(store, kind, p, *a, **kw)

        monkeypatch.setattr(drafter_mod, "compose_with_origin", slow)
        drafting: asyncio.Task[int] | None = None
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await pipe.handle(post(2, POSTS[1]))  # joins this transaction
                drafting = asyncio.create_task(pipe.drafter.run())
                # The drafter either waits for this transaction or is composing its alerts.
                await asyncio.wait(
                    [drafting, asyncio.ensure_future(composing.wait())],
                    return_when=asyncio.FIRST_COMPLETED,
                    timeout=5,
                )
                raise RuntimeError("the import fails after queueing post 2's alerts")
        assert await store.posts.get_by_link("grid_ops", 2) is None
        # The Ukrainian desk mutes the channel; the next post alerts the English desk only,
        # in an alert that takes the first rolled-back alert's id.
        uk, en = await store.people.list()
        source = await store.sources.by_username("grid_ops")
        assert source is not None
        await store.people.mute(uk.id, source.id, None)
        await pipe.handle(post(4, POSTS[3]))
        monkeypatch.setattr(drafter_mod, "compose_with_origin", real)
        release.set()
        assert drafting is not None
        await drafting
        await pipe.drafter.run()
        (latest,) = [a for a in await store.alerts.for_person(en.id) if a.post_id != 1]
        about = await store.posts.get_by_id(latest.post_id or 0)
        assert about is not None and about.message_id == 4
        assert latest.status == "pending"
        html = latest.payload["messages"][-1]["html"]
        assert "Rule:" in html, html[-300:]
    finally:
        await store.close()
