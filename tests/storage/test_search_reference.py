"""Search against a naive reference, on archives built to break a walk by id or by block.

Each seeded archive is written through the repositories as the service writes it: live posts,
history imported after them in out-of-order batches (some between live posts, some repeated
over the same days), dates shared by many posts, edits that change a post's words but not its
date, posts marked deleted, text read from images, and retention dropping the oldest posts
before more are stored (SQLite then hands out ids again above the highest left). Every page of
`SearchRepo.search`, first and following (keyset cursors), must be exactly what the same FTS5
match sorted by (date, id) newest first gives, with `accept` or without.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage.db as db_mod
import storage.posts as posts_mod
import storage.search as search_mod
from storage.fts_query import AllOf, AnyOf, FtsNode, Phrase, Term, to_fts
from storage.models import StoredPost
from storage.records import Post
from storage.search import Filters, SearchRepo
from storage.store import Store

WORDS = ["порт", "портал", "портфель", "сума", "обмін", "заява", "міст"]
BASE = datetime(2025, 3, 1, tzinfo=UTC)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


async def _archive(store: Store, rng: random.Random, first_message: int = 1) -> None:
    """Live posts and imports of older days in an adversarial order (see the module doc)."""
    chans = [await store.sources.ensure(name) for name in ("chan_one", "chan_two", "chan_three")]
    message = iter(range(first_message, first_message + 100_000))
    top_date = await store.db.fetchone("SELECT max(date) FROM posts")
    live_hour = 2000  # live posts are the newest; imports go back from here
    if top_date is not None and top_date[0] is not None:
        live_hour = (
            int((datetime.fromtimestamp(int(top_date[0]), UTC) - BASE).total_seconds()) // 3600
        )

    async def live(n: int) -> None:
        nonlocal live_hour
        for _ in range(n):
            live_hour += rng.choice((0, 0, 1, 2))  # many share a date
            src = rng.choice(chans)
            text = _text(rng)
            when = BASE + timedelta(hours=live_hour)
            await store.posts.insert(
                src.id, Post(src.username, next(message), when, text), text, text
            )

    async def imported(n: int, low: int, high: int) -> None:
        src = rng.choice(chans)
        batch = []
        for _ in range(n):
            text = _text(rng)
            when = BASE + timedelta(hours=rng.randint(low, high))
            batch.append(
                (Post(src.username, next(message), when, text, backfill=True), text, text)
            )
        await store.posts.insert_many(src.id, batch)

    await live(rng.randint(40, 120))
    for _ in range(rng.randint(3, 7)):
        low = rng.randint(0, 1900)
        await imported(rng.randint(10, 90), low, low + rng.randint(0, 300))
        if rng.random() < 0.6:
            await live(rng.randint(1, 30))
    await imported(rng.randint(20, 60), 100, 400)  # the same days again
    await imported(rng.randint(20, 60), 100, 400)
    ids = [int(r[0]) for r in await store.db.fetchall("SELECT id FROM posts ORDER BY id")]
    for pid in rng.sample(ids, len(ids) // 6):
        text = _text(rng)  # an edit: other words, same date
        await store.posts.add_version(pid, text, text, text, None)
    for pid in rng.sample(ids, len(ids) // 10):
        await store.posts.mark_deleted(pid, 1)
    for pid in rng.sample(ids, len(ids) // 10):
        text = _text(rng)
        await store.posts.set_ocr(pid, text, text, text)
    if rng.random() < 0.5:
        # Retention drops the oldest, which after an import sit at the top of the ids: the next
        # posts reuse them.
        await store.posts.delete_older_than(int((BASE + timedelta(hours=300)).timestamp()))
        await imported(rng.randint(10, 40), 0, 2100)
        await live(rng.randint(5, 20))


async def _reference(
    store: Store, node: FtsNode, f: Filters, before: tuple[int, int] | None
) -> list[int]:
    """The same FTS5 match and filters, every hit sorted by (date, id), no walk."""
    fts = to_fts(node)
    assert fts is not None
    where, params = SearchRepo._filters(f, before)
    words_from = await store.search.word_keys_from()
    for needle in search_mod._needles(node):
        where.append("(p.id < ? OR instr(p.norm, ?) > 0 OR instr(p.ocr_norm, ?) > 0)")
        params.extend([words_from, needle, needle])
    where.append("p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
    params.append(fts)
    rows = await store.db.fetchall(
        "SELECT p.id FROM posts p WHERE "
        + " AND ".join(where)
        + " ORDER BY p.date DESC, p.id DESC",
        params,
    )
    return [int(r[0]) for r in rows]


async def _check(
    store: Store,
    node: FtsNode,
    f: Filters,
    size: int,
    accept: Callable[[StoredPost], bool] | None,
    keep: Callable[[int], bool],
    max_pages: int,
) -> None:
    """Page by page from the top: each page's kept posts are the reference's next ones. The
    plans by date may hand back posts `accept` turns down (callers test what they get), so
    those are dropped from what is compared; the cursor is the page's last post either way."""
    before: tuple[int, int] | None = None
    for _ in range(max_pages):
        want = [i for i in await _reference(store, node, f, before) if keep(i)]
        page = await store.search.search(node, f, limit=size, before=before, accept=accept)
        got = [p.id for p in page if keep(p.id)]
        if accept is None:
            assert got == want[:size], (node, f, size, before)
        else:
            assert got == want[: len(got)], (node, f, size, before)
        if len(page) < size:
            assert got == want, (node, f, size, before)
            return
        before = (int(page[-1].date.timestamp()), page[-1].id)


QUERIES: list[FtsNode] = [
    Term("порт", "norm"),
    Term("сума", "lemmas"),
    Term("порт", "norm", prefix=True),
    Term("портф", "norm", prefix=True),  # longer than the prefix index: narrowed by instr
    Phrase(("сума", "обмін")),
    AnyOf((Term("заява", "norm"), Term("міст", "norm"))),
    AllOf((Term("портал", "norm"),), exclude=(Term("сума", "norm"),)),
]


_ALL_MIGRATIONS = db_mod.migrations
_NEW_PARAMS = posts_mod.post_params  # the last is media_key (migration 0025)
_OLD_INSERT_POST = (
    "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, media,"
    " grouped_id, forward_from, forward_link, reply_to, links, edit_date, stored_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _before_blocks() -> list[tuple[int, str, str]]:
    """The migrations of a database from before post_blocks (its migration), which an upgrade
    builds from the posts already stored."""
    known = _ALL_MIGRATIONS()
    blocks = next(n for n, name, _ in known if "post_blocks" in name)
    return [m for m in known if m[0] < blocks]


@pytest.mark.parametrize("seed", range(int(os.environ.get("SEARCH_REFERENCE_SEEDS", "6"))))
async def test_every_page_is_the_reference_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    # Ranges merged eagerly on some seeds, never on others: both ways of reading FTS5 run.
    monkeypatch.setattr(search_mod, "RANGE_HITS", rng.choice((1, 256, 100_000)), raising=False)
    if seed % 2:
        # An archive written before the upgrade, then opened by this wirewatch and written to.
        with monkeypatch.context() as old:
            old.setattr(db_mod, "migrations", _before_blocks)
            # Its posts rows, as that wirewatch wrote them: without the columns added since.
            old.setattr(posts_mod, "INSERT_POST", _OLD_INSERT_POST)
            old.setattr(posts_mod, "post_params", lambda *a: _NEW_PARAMS(*a)[:-1])
            store = await Store.open(tmp_path / "w.db")
            try:
                await _archive(store, rng)
            finally:
                await store.close()
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, rng, first_message=100_000)
        dates = [
            int(r[0]) for r in await store.db.fetchall("SELECT date FROM posts ORDER BY date")
        ]
        # The index itself holds each post's current words (edits, text from images): what
        # the reference below takes for granted.
        posts = await store.db.fetchall("SELECT id, norm, ocr_norm FROM posts")
        for word in WORDS:
            hits = await store.db.fetchall(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?",
                (to_fts(Term(word, "norm")),),
            )
            assert {int(r[0]) for r in hits} == {
                int(i) for i, norm, ocr in posts if word in f"{norm} {ocr or ''}".split()
            }
        # Rebuilt by the upgrades (migration 0022) and kept by the triggers through the
        # edits, deletions, text from images and retention since: FTS5 finds its index and the
        # posts row for row alike.
        await store.db.execute(
            "INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)"
        )
        # What the walk relies on, built by the upgrade or kept by the trigger since: each
        # block's row bounds the dates of all its posts.
        loose = await store.db.fetchall(
            "SELECT p.id FROM posts p LEFT JOIN post_blocks b ON b.block = p.id >> 5"
            " WHERE b.block IS NULL OR p.date < b.min_date OR p.date > b.max_date"
        )
        assert loose == []
        one = await store.sources.by_username("chan_two")
        assert one is not None
        mid, quarter = dates[len(dates) // 2], dates[len(dates) // 4]
        filters = [
            Filters(),
            Filters(source_id=one.id),
            Filters(since=mid),
            Filters(until=quarter),
            Filters(since=quarter, until=mid),
            Filters(until=dates[-1]),  # excludes only the newest second
            Filters(deleted=False),
            Filters(edited=True, source_id=one.id),
        ]
        odd = {i for i in range(0, 100_000) if i % 3 != 0}

        def accept(post: StoredPost) -> bool:
            return post.id in odd

        for node in QUERIES:
            for f in filters:
                await _check(store, node, f, 9, None, lambda i: True, 200)
                await _check(store, node, f, 1, None, lambda i: True, 6)
                await _check(store, node, f, 4, accept, lambda i: i in odd, 200)
    finally:
        await store.close()
