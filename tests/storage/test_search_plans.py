"""Newest-first search has two plans (walk FTS hits by id, then block by block newest first with
the post_blocks bounds, or walk by date); both must give exactly the order a full sort of every
hit gives, whatever the ids."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import storage.search as search_mod
from storage.fts_query import AnyOf, FtsNode, Term
from storage.models import StoredPost
from storage.records import Post
from storage.search import Filters
from storage.store import Store

WORDS = ["сума", "обмін", "інше", "заява", "порт"]


async def _archive(
    store: Store, rng: random.Random, n: int, unit: timedelta = timedelta(hours=1)
) -> list[tuple[int, int, int, str]]:
    """Posts whose ids follow their dates only in stretches: a live run, then an old archive
    imported late, then live again; dates tie often (three posts a `unit`). Returns (date,
    id, source, text)."""
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
        when = base + unit * (hour // 3)
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
        and i not in f.leave_out
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


@pytest.mark.parametrize(
    ("budget", "unit"),
    [
        (search_mod.SCAN_BUDGET, timedelta(hours=1)),
        (30, timedelta(hours=1)),
        # Dates 40 s apart: the blocks' five-minute bounds (migration 0027) overlap, and the
        # walk must read on past a block whose bound, not its posts, reaches the page's last.
        (search_mod.SCAN_BUDGET, timedelta(seconds=40)),
    ],
)
async def test_every_plan_pages_exactly_as_a_full_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int, unit: timedelta
) -> None:
    # budget 30: the walk by id gives up early on the out-of-order stretch and the plan by
    # date answers (with small windows so that its widening runs too).
    monkeypatch.setattr(search_mod, "SCAN_BUDGET", budget)
    monkeypatch.setattr(search_mod, "DENSE_HITS", 3)
    monkeypatch.setattr(search_mod, "WINDOW_START", 7)
    monkeypatch.setattr(search_mod, "WINDOW_GROWTH", 2)
    plans: list[bool] = []  # True: answered by the walk by id
    walk = search_mod._newest_first

    def spy(*args: object, **kwargs: object) -> object:
        found = walk(*args, **kwargs)  # type: ignore[arg-type]
        plans.append(found is not None)
        return found

    monkeypatch.setattr(search_mod, "_newest_first", spy)
    rng = random.Random(budget)
    store = await Store.open(tmp_path / "w.db")
    try:
        rows = await _archive(store, rng, 420, unit)
        dates = sorted(d for d, *_ in rows)
        one = await store.sources.by_username("chan_two")
        assert one is not None
        filters = [
            Filters(),
            Filters(source_id=one.id),
            Filters(since=dates[len(dates) // 2]),
            Filters(until=dates[len(dates) // 4]),
            Filters(since=dates[100], until=dates[300]),
            # Posts the caller leaves out (an update's thread): many of the newest, some older.
            Filters(leave_out=tuple(sorted({i for _, i, *_ in rows[-80:]} | {3, 50, 200}))),
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


async def test_post_blocks_bound_every_post(tmp_path: Path) -> None:
    """The invariant the walk relies on, after inserts out of date order and deletes: each
    block's row bounds the date of every post in it."""
    rng = random.Random(5)
    store = await Store.open(tmp_path / "w.db")
    try:
        # Dates 37 s apart, so that the five-minute rounding (migration 0027) shows.
        rows = await _archive(store, rng, 300, timedelta(seconds=37))
        await store.db.execute("DELETE FROM posts WHERE id % 7 = 0")
        bounds = {
            int(r[0]): (int(r[1]), int(r[2]))
            for r in await store.db.fetchall("SELECT block, min_date, max_date FROM post_blocks")
        }
        for date, pid, *_ in rows:
            low, high = bounds[pid >> search_mod.ORDER_BLOCK_BITS]
            assert low <= date <= high
    finally:
        await store.close()


def _blocks_migration() -> int:
    from storage.db import migrations

    return next(n for n, name, _ in migrations() if "post_blocks" in name)


async def test_migration_replaces_post_order_with_each_blocks_bounds(tmp_path: Path) -> None:
    """An archive stored under post_order (ids out of date order, written through its trigger)
    opens with post_blocks holding each block's own oldest and newest dates, post_order and
    its trigger gone, new posts bounded by the new trigger and search pages a full sort."""
    from storage.db import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for number, _, sql in migrations():
        if number >= _blocks_migration():
            break
        conn.executescript(f"{sql}\nPRAGMA user_version = {number};")
    conn.execute("INSERT INTO sources (id, username, added_at) VALUES (1, 'chan', 0)")
    dates = [500, 100, 900, 300, 50] * 20  # ids 1..100, dates out of order
    conn.executemany(
        "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, stored_at)"
        " VALUES (1, ?, ?, 'сума', 'сума', 'сума', 0)",
        list(enumerate(dates, 1)),
    )
    conn.execute(
        "INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)"
        " SELECT id, norm, lemmas, '', '' FROM posts"
    )
    assert conn.execute("SELECT count(*) FROM post_order").fetchone()[0] == 4
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        rows = await store.db.fetchall(
            "SELECT block, min_date, max_date FROM post_blocks ORDER BY block"
        )
        assert [tuple(int(v) for v in r) for r in rows] == [
            (0, 50, 900),  # ids 1..31
            (1, 50, 900),
            (2, 50, 900),
            (3, 50, 900),  # ids 96..100
        ]
        assert (
            await store.db.fetchall(
                "SELECT name FROM sqlite_master WHERE name IN ('post_order', 'posts_order_ai')"
            )
            == []
        )
        src = await store.sources.by_username("chan")
        assert src is not None
        late = datetime.fromtimestamp(20, UTC)  # an older post stored last: id 101
        await store.posts.insert(
            src.id, Post(channel="chan", message_id=101, date=late, text="сума"), "сума", "сума"
        )
        row = await store.db.fetchone("SELECT min_date, max_date FROM post_blocks WHERE block = 3")
        # Its date (20) rounded down to five minutes (migration 0027); the old bound stays.
        assert row is not None and (int(row[0]), int(row[1])) == (0, 900)
        page = await store.search.search(Term("сума", "norm"), limit=3)
        assert [p.id for p in page] == [98, 93, 88]  # date 900, newest id first
        expected = [i for _, i in sorted(((d, i) for i, d in enumerate(dates, 1)), reverse=True)]
        assert await _pages(store, Term("сума", "norm"), Filters(), 7) == [*expected, 101]
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


async def _backfilled(
    store: Store, n: int, *, in_order: bool = False, late: int = 10, seed: int = 8
) -> list[tuple[int, int, int, str]]:
    """`n` posts of one channel, a minute apart (some sharing a second), stored as a newsroom
    stores them when it follows the channel live first and imports its history later: the
    newer half first, then the older half as two imports (its newer quarter, then the oldest),
    with one live post in `late` (0: none) arriving between the imports' posts. `in_order`:
    the same posts stored oldest first. Returns (date, id, source, text)."""
    rng = random.Random(seed)
    src = await store.sources.ensure("chan_one")
    base = datetime(2025, 3, 1, tzinfo=UTC)
    posts = []
    for k in range(n):
        text = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
        when = base + timedelta(seconds=60 * k - (30 if k % 5 == 0 else 0))
        posts.append(Post(channel="chan_one", message_id=k + 1, date=when, text=text))
    if not in_order:
        history, live = posts[: n // 2], posts[n // 2 :]
        during = live[len(live) - len(live) // late :] if late else []
        live = live[: len(live) - len(during)]
        imported = history[len(history) // 2 :] + history[: len(history) // 2]
        step = max(1, len(imported) // max(1, len(during)))
        posts = list(live)
        for k in range(0, len(imported), step):
            posts += imported[k : k + step]
            if during:
                posts.append(during.pop(0))
        posts += during
    rows = []
    async with store.transaction():
        for post in posts:
            pid = await store.posts.insert(src.id, post, post.text, post.text)
            rows.append((int(post.date.timestamp()), pid, src.id, post.text))
    return rows


async def test_a_back_filled_archive_pages_exactly_as_a_full_sort(db_target: str) -> None:
    """History imported after live posts (high ids, old dates), twice, with live posts
    arriving meanwhile: every page, with and without filters, is the full sort's, on both
    back ends."""
    store = await Store.open(db_target)
    try:
        rows = await _backfilled(store, 700)
        dates = sorted(d for d, *_ in rows)
        filters = [
            Filters(),
            Filters(since=dates[len(dates) // 3]),
            Filters(until=dates[len(dates) // 4]),
            Filters(since=dates[100], until=dates[600]),
        ]
        queries: list[tuple[FtsNode, set[str]]] = [
            (Term("сума", "norm"), {"сума"}),
            (AnyOf((Term("обмін", "norm"), Term("заява", "norm"))), {"обмін", "заява"}),
        ]
        for node, words in queries:
            for f in filters:
                for size in (1, 20):
                    got = await _pages(store, node, f, size)
                    assert got == _expected(rows, words, f), (node, f, size)
    finally:
        await store.close()


async def _vm_steps(store: Store, node: FtsNode, limit: int) -> tuple[list[int], int]:
    """The first page's ids and the SQLite virtual machine instructions it took (counted by
    SQLite's progress handler, every 100)."""
    steps = [0]

    def count() -> int:
        steps[0] += 100
        return 0

    def install(conn: sqlite3.Connection, handler: Callable[[], int] | None) -> None:
        conn.set_progress_handler(handler, 100)

    await store.db.run(partial(install, handler=count))
    try:
        page = await store.search.search(node, limit=limit)
    finally:
        await store.db.run(partial(install, handler=None))
    return [p.id for p in page], steps[0]


async def test_a_back_filled_archive_costs_what_the_same_posts_in_order_cost(
    tmp_path: Path,
) -> None:
    """The first page of a frequent word on a back-filled archive takes about the SQLite work
    it takes on the same posts stored oldest first. The walk by id with a bound on all lower
    ids walked the whole late import (every hit's date read) before it reached the newest
    posts: 20-30 times the work here."""
    work = {}
    for in_order in (True, False):
        store = await Store.open(tmp_path / f"{in_order}.db")
        try:
            rows = await _backfilled(store, 4000, in_order=in_order, late=0)
            for name, node, words in (
                ("one word", Term("сума", "norm"), {"сума"}),
                (
                    "either",
                    AnyOf((Term("обмін", "norm"), Term("порт", "norm"))),
                    {"обмін", "порт"},
                ),
            ):
                ids, steps = await _vm_steps(store, node, 20)
                assert ids == _expected(rows, words, Filters())[:20]
                work[in_order, name] = steps
        finally:
            await store.close()
    for name in ("one word", "either"):
        assert work[False, name] <= 2 * work[True, name], work
