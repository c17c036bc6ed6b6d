"""Storage on temp files: migrations, pragmas, repositories, FTS, outbox idempotency."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database, StorageError, migrations
from storage.fts_query import AllOf, AnyOf, Phrase, Term, to_fts
from storage.postgres.store import PgStore
from storage.records import Post
from storage.search import Filters
from storage.store import Store


@pytest.fixture
async def store(db_target: str) -> Store:
    # Every test that takes this fixture runs on SQLite and on PostgreSQL.
    s = await Store.open(db_target)
    yield s  # type: ignore[misc]
    await s.close()


def _post(mid: int, text: str, *, day: int = 1, channel: str = "chan_one") -> Post:
    return Post(
        channel=channel, message_id=mid, date=datetime(2025, 12, day, 12, tzinfo=UTC), text=text
    )


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    try:
        assert await db.user_version() == migrations()[-1][0]
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
        row = await db.fetchone("PRAGMA foreign_keys")
        assert row is not None and row[0] == 1
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
    # Opening again applies nothing and keeps the version.
    db = await Database.open(tmp_path / "a.db")
    assert await db.user_version() == migrations()[-1][0]
    await db.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 999")
    con.close()
    with pytest.raises(StorageError, match="newer than this wirewatch"):
        await Database.open(path)


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError, match="not a usable wirewatch database"):
        await Database.open(path)


async def test_mistyped_folder_is_refused_not_created(tmp_path: Path) -> None:
    # `--db /srv/wirewtach/data/w.db` must not quietly start an empty archive in a new tree.
    path = tmp_path / "typo" / "data" / "w.db"
    with pytest.raises(StorageError, match=r"folder .*typo.* does not exist"):
        await Database.open(path)
    assert not (tmp_path / "typo").exists()


async def test_missing_last_folder_is_created(tmp_path: Path) -> None:
    # The default var/wirewatch.db on a fresh clone: one missing level is ours to create.
    db = await Database.open(tmp_path / "var" / "w.db")
    await db.close()
    assert (tmp_path / "var" / "w.db").is_file()


async def test_transaction_rolls_back_everything(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    with pytest.raises(RuntimeError):
        async with store.db.transaction():
            await store.posts.insert(src.id, _post(1, "перший"), "перший", "перший")
            raise RuntimeError("boom")
    assert await store.posts.count() == 0
    assert await store.posts.count_versions() == 0


async def test_versions_and_fts_follow_edits(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    pid = await store.posts.insert(
        src.id, _post(7, "стара версія"), "стара версія", "старий версія"
    )
    hits = await store.search.search(Term("старий"))
    assert [p.id for p in hits] == [pid]
    v = await store.posts.add_version(
        pid, "нова версія", "нова версія", "новий версія", 1_700_000_000
    )
    assert v == 2
    assert await store.search.search(Term("старий")) == []
    assert [p.id for p in await store.search.search(Term("новий"))] == [pid]
    versions = await store.posts.versions(pid)
    assert [x.text for x in versions] == ["стара версія", "нова версія"]
    got = await store.posts.get(src.id, 7)
    assert got is not None and got.version == 2 and got.permalink == "https://t.me/chan_one/7"


async def test_a_posts_first_version_row_is_written_by_its_first_edit(store: Store) -> None:
    """Storing a post writes no version row (it would repeat the post's text: pages in every
    live post's commit); the post reads as its one version, and its first edit writes that
    version's row, as it read, before its own."""
    src = await store.sources.ensure("chan_one")
    pid = await store.posts.insert(src.id, _post(8, "перша редакція"), "перша", "перший")
    await store.posts.insert(src.id, _post(9, "інший допис"), "інший", "інший")
    await store.posts.set_ocr(pid, "текст на фото", "текст", "текст")

    async def rows() -> int:
        row = await store.db.fetchone(
            "SELECT COUNT(*) FROM post_versions WHERE post_id = ?", (pid,)
        )
        assert row is not None
        return int(row[0])

    first = await store.posts.versions(pid)
    assert [(v.version, v.text, v.ocr_text) for v in first] == [
        (1, "перша редакція", "текст на фото")
    ]
    assert await rows() == 0
    assert await store.posts.count_versions() == 2
    await store.posts.add_version(pid, "друга редакція", "друга", "другий", 1_700_000_000)
    await store.posts.add_version(pid, "третя редакція", "третя", "третій", 1_700_000_100)
    after = await store.posts.versions(pid)
    assert after[0] == first[0]  # version 1 reads as it did, recorded when the post was
    assert [v.text for v in after] == ["перша редакція", "друга редакція", "третя редакція"]
    assert [v.ocr_text for v in after] == ["текст на фото"] * 3  # the picture did not change
    assert await rows() == 3
    assert await store.posts.count_versions() == 4


async def test_hostile_terms_are_quoted_not_interpreted(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    await store.posts.insert(src.id, _post(1, "a"), 'x" OR norm:* ^', 'x" OR norm:* ^')
    for evil in ['"', "-word", "x:word", "*", "AND", "'", "?", "+", "%", "body:", "^", 'a" OR "b']:
        # Must not raise an FTS syntax error, whatever the term.
        await store.search.search(Term(evil))
        await store.search.search(Phrase((evil, evil)))


def test_fts_expression_shapes() -> None:
    node = AllOf(
        (Term("обмін"), AnyOf((Phrase(("гуманітарний", "трек")), Term("тре", prefix=True)))),
        exclude=(Term("туреччина"),),
    )
    assert to_fts(node) == (
        '({lemmas ocr_lemmas} : "обмін" AND ({norm ocr_norm} : ("гуманітарний" AND "трек")'
        ' OR {lemmas ocr_lemmas} : "тре" *)) NOT ({lemmas ocr_lemmas} : "туреччина")'
    )
    assert to_fts(AllOf((), exclude=(Term("x"),))) is None


async def test_search_filters_and_keyset_paging(store: Store) -> None:
    a = await store.sources.ensure("chan_one")
    b = await store.sources.ensure("chan_two")
    ids = []
    for day in range(1, 11):
        ids.append(await store.posts.insert(a.id, _post(day, "сума", day=day), "сума", "сума"))
    await store.posts.insert(b.id, _post(1, "сума", channel="chan_two"), "сума", "сума")
    page1 = await store.search.search(Term("сума"), Filters(source_id=a.id), limit=4)
    assert [p.message_id for p in page1] == [10, 9, 8, 7]
    last = page1[-1]
    page2 = await store.search.search(
        Term("сума"),
        Filters(source_id=a.id),
        limit=4,
        before=(int(last.date.timestamp()), last.id),
    )
    assert [p.message_id for p in page2] == [6, 5, 4, 3]
    since = int(datetime(2025, 12, 9, tzinfo=UTC).timestamp())
    assert len(await store.search.search(Term("сума"), Filters(since=since))) == 2
    assert len(await store.search.search(None, Filters(source_id=b.id))) == 1


async def test_outbox_enqueue_is_idempotent(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    pid = await store.posts.insert(src.id, _post(1, "текст"), "текст", "текст")
    person = await store.people.add(role="journalist", user_id=42)
    first = await store.alerts.enqueue(
        person_id=person.id,
        post_id=pid,
        kind="new",
        version=1,
        payload={"plain": "x", "messages": []},
    )
    again = await store.alerts.enqueue(
        person_id=person.id,
        post_id=pid,
        kind="new",
        version=1,
        payload={"plain": "x", "messages": []},
    )
    assert first is not None and again is None
    assert await store.alerts.depth() == 1
    await store.alerts.mark_sent(first, 555)
    got = await store.alerts.get(first)
    assert got is not None and got.status == "sent" and got.tg_message_id == 555
    assert await store.alerts.due() == []


async def test_people_roles_mutes_and_recipients(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    ed = await store.people.add(role="editor", username="@Editor_One")
    jo = await store.people.add(role="journalist", user_id=7)
    assert (await store.people.by_username("editor_one")) == ed
    with pytest.raises(ValueError):
        await store.people.add(role="overlord", user_id=9)
    await store.people.mute(jo.id, src.id, None)
    assert [p.id for p in await store.people.recipients(src.id)] == [ed.id]
    await store.people.unmute(jo.id, src.id)
    await store.people.set_pref(ed.id, "paused", 1)
    assert [p.id for p in await store.people.recipients(src.id)] == [jo.id]
    # Adding a known person again changes the role instead of duplicating them.
    again = await store.people.add(role="admin", user_id=7)
    assert again.id == jo.id and again.role == "admin"


async def test_source_mark_never_goes_backwards(store: Store) -> None:
    src = await store.sources.ensure("chan_one", peer_id=1234)
    await store.sources.advance(src.id, 50, 1000)
    await store.sources.advance(src.id, 40, 900)
    got = await store.sources.by_peer(1234)
    assert got is not None and got.last_message_id == 50


async def test_due_keeps_a_persons_order_behind_a_retry(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    p1 = await store.posts.insert(src.id, _post(1, "a"), "a", "a")
    p2 = await store.posts.insert(src.id, _post(2, "b"), "b", "b")
    ann = await store.people.add(role="journalist", user_id=1)
    bob = await store.people.add(role="journalist", user_id=2)
    payload = {"plain": "x", "messages": []}
    first = await store.alerts.enqueue(
        person_id=ann.id, post_id=p1, kind="new", version=1, payload=payload
    )
    second = await store.alerts.enqueue(
        person_id=ann.id, post_id=p2, kind="new", version=1, payload=payload
    )
    other = await store.alerts.enqueue(
        person_id=bob.id, post_id=p1, kind="new", version=1, payload=payload
    )
    assert first and second and other
    await store.alerts.mark_retry(first, next_at=10**10, error="500")
    # Ann's second alert waits behind her first; Bob is not held up by Ann.
    assert [a.id for a in await store.alerts.due()] == [other]


async def test_windowed_search_for_frequent_terms_is_exact_whatever_the_id_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    import storage.search as search_mod

    # Small thresholds so 300 posts exercise the windowed plan and its widening.
    monkeypatch.setattr(search_mod, "DENSE_HITS", 1)
    monkeypatch.setattr(search_mod, "WINDOW_START", 5)
    monkeypatch.setattr(search_mod, "WINDOW_GROWTH", 2)
    rng = random.Random(3)
    a = await store.sources.ensure("chan_one")
    b = await store.sources.ensure("chan_two")
    expected: list[tuple[int, int, int]] = []  # (date, id, source)
    days = list(range(300))
    rng.shuffle(days)  # ids and dates deliberately out of step: old posts imported late
    for n, day in enumerate(days, 1):
        src = a if n % 3 else b
        text = "сума" if rng.random() < 0.4 else "інше"
        when = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=day // 2)  # ties on date
        pid = await store.posts.insert(
            src.id,
            Post(channel=src.username, message_id=n, date=when, text=text),
            text,
            text,
        )
        if text == "сума":
            expected.append((int(when.timestamp()), pid, src.id))
    expected.sort(reverse=True)

    async def pages(filters: Filters) -> list[int]:
        out: list[int] = []
        before = None
        while True:
            page = await store.search.search(Term("сума"), filters, limit=7, before=before)
            out.extend(p.id for p in page)
            if len(page) < 7:
                return out
            before = (int(page[-1].date.timestamp()), page[-1].id)

    assert await pages(Filters()) == [pid for _, pid, _ in expected]
    assert await pages(Filters(source_id=b.id)) == [pid for _, pid, s in expected if s == b.id]
    until = expected[len(expected) // 2][0]
    assert await pages(Filters(until=until)) == [pid for d, pid, _ in expected if d < until]


async def test_prefix_terms_use_the_indexed_prefix_and_stay_a_superset(store: Store) -> None:
    assert to_fts(Term("енергосист", column="norm", prefix=True)) == '{norm ocr_norm} : "енер" *'
    assert to_fts(Term("мир", column="norm", prefix=True)) == '{norm ocr_norm} : "мир" *'
    src = await store.sources.ensure("chan_one")
    for n, text in enumerate(["енергосистема працює", "енергія сонця", "погода"], 1):
        await store.posts.insert(src.id, _post(n, text), text, text)
    hits = await store.search.search(Term("енергосист", column="norm", prefix=True))
    # FTS5 answers both енер- words. SQLite narrows them by the whole prefix in the stored norm
    # (every word is written out there); PostgreSQL leaves it to the caller's matcher.
    expected = [1, 2] if isinstance(store, PgStore) else [1]
    assert sorted(p.message_id for p in hits) == expected
    if not isinstance(store, PgStore):
        row = await store.db.fetchone("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'")
        assert row is not None and "prefix" in row[0]


async def test_access_hashes_per_account_and_unowned_ones_claimed(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    await store.sources.set_account_hash(src.id, 0, 111)
    assert await store.sources.claim_unowned_hashes(42) == 1
    assert await store.sources.account_hash(src.id, 42) == 111
    assert await store.sources.account_hash(src.id, 0) is None
    await store.sources.set_account_hash(src.id, 42, 222)
    assert await store.sources.account_hash(src.id, 42) == 222
    await store.sources.forget_account_hash(src.id, 42)
    assert await store.sources.account_hash(src.id, 42) is None


async def test_alerts_awaiting_translation_are_those_asked_and_not_answered(store: Store) -> None:
    src = await store.sources.ensure("chan_one")
    person = await store.people.add(role="journalist", user_id=42)
    ids = []
    for n, extra in enumerate([{"translate": {"to": "en"}}, {}, {"translate": None}], 1):
        post_id = await store.posts.insert(src.id, _post(n, "текст"), "текст", "текст")
        alert_id = await store.alerts.enqueue(
            person_id=person.id,
            post_id=post_id,
            kind="new",
            version=1,
            payload={"plain": "x", "messages": [], **extra},
        )
        assert alert_id is not None
        ids.append(alert_id)
    assert [a.id for a in await store.alerts.awaiting_translation(0)] == [ids[0]]
    await store.alerts.enqueue(
        person_id=person.id,
        post_id=None,
        kind="translation",
        version=1,
        payload={"plain": "y", "messages": []},
        reply_to_alert=ids[0],
    )
    assert await store.alerts.awaiting_translation(0) == []
