"""Review of drafting after the commit (bot/ingest/drafter.py): drafters racing on one outbox,
posts that change before their drafts are written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.ingest.drafter import Drafter
from bot.ingest.pipeline import Pipeline
from storage.records import Deletion
from storage.store import Store
from tests.ingest.test_drafter import POSTS, T0, desk, outbox, post


async def test_two_drafters_on_one_outbox_write_each_draft_once(
    new_db: Callable[[], str],
) -> None:
    inline_url, url = new_db(), new_db()
    inline = await desk(inline_url)
    try:
        pipe = Pipeline(inline)
        for n in range(30):
            await pipe.handle(post(n + 1, POSTS[n % 4] + f" Нарада №{n}."))
        expected = await outbox(inline)
    finally:
        await inline.close()
    store = await desk(url)
    other = await Store.open(url)  # another process on the same database
    try:
        pipe = Pipeline(store, defer_drafts=True)
        for n in range(30):
            await pipe.handle(post(n + 1, POSTS[n % 4] + f" Нарада №{n}."))
        a, b = Drafter(store, batch=7), Drafter(other, batch=5)
        await asyncio.gather(a.run(), b.run())
        assert a.failed == b.failed == 0
        assert await outbox(store) == expected
    finally:
        await other.close()
        await store.close()


async def test_a_post_edited_and_deleted_before_its_draft_is_drafted_as_it_was(
    new_db: Callable[[], str],
) -> None:
    inline_url, url = new_db(), new_db()
    rewritten = "Графік відключень на завтра змінено: одна черга на дві години."
    results = []
    for target, defer in ((inline_url, False), (url, True)):
        store = await desk(target)
        try:
            pipe = Pipeline(store, defer_drafts=defer)
            await pipe.handle(post(1, POSTS[0]))
            await pipe.handle(replace(post(1, rewritten), edit_date=T0 + timedelta(minutes=30)))
            await pipe.handle(
                Deletion(channel="grid_ops", message_ids=[1], date=T0 + timedelta(hours=1))
            )
            await pipe.drafter.run()
            results.append(await outbox(store))
            due = [(a.kind, a.person_id) for a in await store.alerts.due()]
            # Each chat gets the story, then its edit, then its deletion.
            for person in {p for _, p in due}:
                assert [k for k, p in due if p == person] == ["new", "edit", "delete"]
        finally:
            await store.close()
    assert results[0] == results[1]
