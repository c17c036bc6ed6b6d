"""Newest-first search has two plans (walk FTS hits by id with the post_order bound, or walk by
date); both must give exactly the order a full sort of every hit gives, whatever the ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import storage.search as search_mod
from storage.models import StoredPost
from storage.records import Post
from storage.search import AnyOf, Filters, FtsNode, Term
from storage.store import Store

WORDS = ["сума", "обмін", "інше", "заява", "порт"]


async def _archive(store: Store, rng: random.Random, n: int) -> list[tuple[int, int, int, str]]:
    """Posts whose ids follow their dates only in stretches: a live run, then an old archive
    imported late, then live again; dates tie often. Returns (date, id, source, text)."""
    a = await store.sources.ensure("chan_one")
    b = await store.sources.ensure("chan_two")
    base = datetime(2025, 1, 1, tzinfo=UTC)
    hours = list(range(n // 3, 2 * n // 3))  # live
    old = list(range(n // 3))
    rng.shuffle(old)  # the late import, out of order
    hours += old + list(range(2 * n // 3, n))
    rows: list[tuple[int, int, int, str]] = []
    for n_msg, hour in enumerate(hours, 1):
        src = a if rng.random() < 0.7 else b
        text = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        when = base + timedelta(hours=hour // 3)  # three posts an hour share a date
        pid = await store.posts.insert(
            src.id, Post(channel=src.username, message_id=n_msg, date=when, text=text), text, text
        )
        rows.append((int(when.timestamp()), pid, src.id, text))
    return rows


def _expected(rows: list[tuple[int, int, int, str]], words: set[str], f: Filters) -> list[int]:
    out = [
        (d, i)
        for d, i, s, text in rows
        if words & set(text.split())
        and (f.source_id is None or s == f.source_id)
        and (f.since is None or d >= f.since)
        and (f.until is None or d < f.until)
    ]
    return [i for _, i in sorted(out, reverse=True)]


async def _pages(store: Store, node: FtsNode, f: Filters, size: int) -> list[int]:
    out: list[int] = []
    before = None
    while True:
        page = await store.search.search(node, f, limit=size, before=before)
        out.extend(p.id for p in page)
        assert len(out) < 10_000
        if len(page) < size:
            return out
        before = (int(page[-1].date.timestamp()), page[-1].id)


@pytest.mark.parametrize("budget", [search_mod.SCAN_BUDGET, 30])
async def test_every_plan_pages_exactly_as_a_full_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    # budget 30: the walk by id gives up early on the out-of-order stretch and the plan by
    # date answers (with small windows so that its widening runs too).
    monkeypatch.setattr(search_mod, "SCAN_BUDGET", budget)
    monkeypatch.setattr(search_mod, "DENSE_HITS", 3)
    monkeypatch.setattr(search_mod, "WINDOW_START", 7)
    monkeypatch.setattr(search_mod, "WINDOW_GROWTH", 2)
    plans: list[bool] = []  # True: answered by the walk by id
    walk = search_mod._newest_by_id

    def spy(*args: object, **kwargs: object) -> object:
        found = walk(*args, **kwargs)  # type: ignore[arg-type]
        plans.append(found is not None)
        return found

    monkeypatch.setattr(search_mod, "_newest_by_id", spy)
    rng = random.Random(budget)
    store = await Store.open(tmp_path / "w.db")
    try:
        rows = await _archive(store, rng, 420)
        dates = sorted(d for d, *_ in rows)
        one = await store.sources.by_username("chan_two")
        assert one is not None
        filters = [
            Filters(),
            Filters(source_id=one.id),
            Filters(since=dates[len(dates) // 2]),
            Filters(until=dates[len(dates) // 4]),
            Filters(since=dates[100], until=dates[300]),
        ]
        queries: list[tuple[FtsNode, set[str]]] = [
            (Term("сума", "norm"), {"сума"}),
            (Term("порт", "norm"), {"порт"}),
            (AnyOf((Term("обмін", "norm"), Term("заява", "norm"))), {"обмін", "заява"}),
        ]
        for node, words in queries:
            for f in filters:
                for size in (1, 7, 50):
                    got = await _pages(store, node, f, size)
                    assert got == _expected(rows, words, f), (node, f, size)
        # Both plans answered pages (the small budget hands the late import to the date plan).
        assert all(plans) if budget > 1000 else (True in plans and False in plans)
    finally:
        await store.close()


@pytest.mark.parametrize("keep", [5, -7], ids=["1 in 5 kept", "6 in 7 kept"])
async def test_the_walk_with_a_test_of_its_own_pages_as_a_sifted_full_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    """`accept` (the caller's test of a hit, applied as the walk reads it) turns down most
    hits of one word, or a few: the pages are still exactly a full sort of what it keeps, each
    one a single round trip. Mostly kept, a step stops reading at a page of kept hits and the
    next step starts below the last one read."""
    store = await Store.open(tmp_path / "w.db")
    try:
        rows = await _archive(store, random.Random(4), 600)
        if keep > 0:
            kept_ids = {i for _, i, _, _ in rows if i % keep == 0}
        else:
            kept_ids = {i for _, i, _, _ in rows if i % -keep != 0}

        def accept(post: StoredPost) -> bool:
            return post.id in kept_ids

        calls: list[str] = []
        for name in ("run", "fetchone", "fetchall", "execute"):
            real = getattr(store.db, name)

            def counted(*args: object, _real: Any = real, _name: str = name) -> Any:
                calls.append(_name)
                return _real(*args)

            monkeypatch.setattr(store.db, name, counted)

        for f in (Filters(), Filters(since=sorted(d for d, *_ in rows)[300])):
            expected = [i for i in _expected(rows, {"сума"}, f) if i in kept_ids]
            for size in (1, 7, 50):
                out: list[int] = []
                before = None
                while True:
                    calls.clear()
                    page = await store.search.search(
                        Term("сума", "norm"), f, limit=size, before=before, accept=accept
                    )
                    assert calls == ["run"]  # one round trip to the database thread
                    assert all(p.id in kept_ids for p in page)
                    out.extend(p.id for p in page)
                    if len(page) < size:
                        break
                    before = (int(page[-1].date.timestamp()), page[-1].id)
                assert out == expected, (f, size)
    finally:
        await store.close()


async def test_post_order_bounds_every_lower_id(tmp_path: Path) -> None:
    """The invariant the walk by id relies on, after inserts out of date order and deletes."""
    rng = random.Random(5)
    store = await Store.open(tmp_path / "w.db")
    try:
        rows = await _archive(store, rng, 300)
        await store.db.execute("DELETE FROM posts WHERE id % 7 = 0")
        bounds = {
            int(r[0]): int(r[1])
            for r in await store.db.fetchall("SELECT block, max_date FROM post_order")
        }
        for date, pid, *_ in rows:
            covering = [
                m for blk, m in bounds.items() if blk >= pid >> search_mod.ORDER_BLOCK_BITS
            ]
            assert covering and min(covering) >= date
    finally:
        await store.close()


async def test_migration_fills_post_order_for_an_existing_archive(tmp_path: Path) -> None:
    import sqlite3

    from storage.db import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for number, _, sql in migrations():
        if number > 3:
            break
        conn.executescript(f"{sql}\nPRAGMA user_version = {number};")
    conn.execute("INSERT INTO sources (id, username, added_at) VALUES (1, 'chan', 0)")
    dates = [500, 100, 900, 300, 50] * 20  # ids 1..100, dates out of order
    conn.executemany(
        "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, stored_at)"
        " VALUES (1, ?, ?, 'сума', 'сума', 'сума', 0)",
        list(enumerate(dates, 1)),
    )
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        rows = await store.db.fetchall("SELECT block, max_date FROM post_order ORDER BY block")
        assert [(int(r[0]), int(r[1])) for r in rows] == [(0, 900), (1, 900), (2, 900), (3, 900)]
        page = await store.search.search(Term("сума", "norm"), limit=3)
        assert [p.id for p in page] == [98, 93, 88]  # date 900, newest id first
    finally:
        await store.close()


async def test_the_walk_reads_posts_as_from_row_does(tmp_path: Path) -> None:
    """The walk builds its posts from plain tuples by position (storage.search._post); they
    must be the posts StoredPost.from_row makes of the same rows, every field set."""
    store = await Store.open(tmp_path / "w.db")
    try:
        src = await store.sources.ensure("chan_one")
        when = datetime(2025, 5, 1, 9, tzinfo=UTC)
        full = Post(
            channel="chan_one",
            message_id=7,
            date=when,
            text="обмін заява",
            edit_date=when + timedelta(minutes=5),
            media="photo",
            grouped_id=99,
            forward_from="@other",
            forward_link="https://t.me/other/3",
            reply_to=4,
            links=("https://example.org/a", "https://example.org/b"),
        )
        first = await store.posts.insert(src.id, full, "обмін заява", "обмін заява")
        await store.posts.set_ocr(first, "порт", "порт", "порт")
        await store.posts.add_version(first, "обмін заява сума", "обмін заява сума", "обмін", 9)
        await store.posts.mark_deleted(first, int(when.timestamp()) + 600)
        bare = Post(channel="chan_one", message_id=8, date=when, text="обмін")
        await store.posts.insert(src.id, bare, "обмін", "обмін")
        expected = {
            int(r["id"]): StoredPost.from_row(r)
            for r in await store.db.fetchall(f"{search_mod._SELECT} ORDER BY p.id")
        }
        seen: list[StoredPost] = []

        def keep(post: StoredPost) -> bool:
            seen.append(post)
            return True

        got = await store.search.search(Term("обмін"), limit=5, accept=keep)
        assert {p.id: p for p in seen} == expected
        assert got == sorted(expected.values(), key=lambda p: (p.date, p.id), reverse=True)
        got = await store.search.search(Term("обмін"), limit=5)  # the plan without a test
        assert got == sorted(expected.values(), key=lambda p: (p.date, p.id), reverse=True)
    finally:
        await store.close()
