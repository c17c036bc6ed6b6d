"""Deleting some photos of an album: the album (one post, its first message's id) stays up until
its last message is gone; each removed message is in the evidence trail. Through the pipeline on
both back ends (SQLite file and PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.desk.search import search_posts
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.db import migrations
from storage.postgres.db import migrations as pg_migrations
from storage.records import Deletion, Post
from storage.store import Store
from tests.storage.old_schema import old_postgres, old_sqlite

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
CHANNEL = "oblast_admin_demo"
ALBUM = 4455
CAPTION = "Рятувальники розчистили завали на вокзалі; рух поїздів відновлено о 7:40."


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


async def desk(store: Store) -> int:
    """A journalist whose rule the album's caption matches; returns the person's id."""
    person = await store.people.add(role="journalist", user_id=31, lang="uk")
    await store.rules.add("завали", rule_to_json(parse_rule("завали")))
    return person.id


def photo(mid: int, text: str = "") -> Post:
    return Post(
        channel=CHANNEL,
        message_id=mid,
        date=T0 + timedelta(seconds=mid),
        text=text,
        media="photo",
        grouped_id=ALBUM,
    )


async def album(
    pipe: Pipeline, *, caption_on: int = 20, ids: tuple[int, ...] = (20, 21, 22)
) -> int:
    for mid in ids:
        await pipe.handle(photo(mid, CAPTION if mid == caption_on else ""))
    stored = await pipe.store.posts.get_by_link(CHANNEL, ids[0])
    assert stored is not None and stored.message_id == ids[0] and stored.text == CAPTION
    return stored.id


def gone(*ids: int, minutes: int = 30) -> Deletion:
    return Deletion(channel=CHANNEL, message_ids=ids, date=T0 + timedelta(minutes=minutes))


async def kinds(store: Store, person_id: int) -> list[str]:
    return [a.kind for a in await store.alerts.for_person(person_id)]


async def deletions(store: Store) -> list[int]:
    """Message ids the evidence trail records as deleted, in the order it recorded them."""
    rows = await store.db.fetchall(
        "SELECT message_id FROM evidence WHERE kind = 'deletion' ORDER BY id"
    )
    return [int(r[0]) for r in rows]


async def up(store: Store, post_id: int) -> list[int]:
    return [m.message_id for m in await store.posts.album_members(post_id) if m.up]


async def test_deleting_a_later_photo_is_recorded_and_the_album_stays(store: Store) -> None:
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe)
    res = await pipe.handle(gone(21))
    assert res.deleted == 0 and res.alerts == 0
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is None and stored.text == CAPTION
    assert await up(store, post_id) == [20, 22]
    assert await deletions(store) == [21]
    assert await kinds(store, person) == ["new"]
    # Told twice (a reconciliation after the live update): nothing new.
    again = await pipe.handle(gone(21, minutes=45))
    assert (again.deleted, again.alerts, again.duplicates) == (0, 0, 1)
    assert await deletions(store) == [21]


async def test_deleting_the_first_photo_does_not_delete_the_album(store: Store) -> None:
    person = await desk(store)
    pipe = Pipeline(store)
    # The caption sits on the second photo: the first photo's message carries no text.
    post_id = await album(pipe, caption_on=21)
    res = await pipe.handle(gone(20))
    assert res.deleted == 0 and res.alerts == 0
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is None
    assert stored.text == CAPTION and stored.version == 2  # as before the deletion
    assert await up(store, post_id) == [21, 22]
    assert await deletions(store) == [20]
    assert await kinds(store, person) == ["new"]
    # The album is still found by any of its links, the deleted photo's included.
    assert (await store.posts.get_by_link(CHANNEL, 22)) == stored


async def test_the_album_is_deleted_with_its_last_photo(store: Store) -> None:
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe, caption_on=21)
    for n, mid in enumerate((21, 20)):
        await pipe.handle(gone(mid, minutes=30 + n))
        stored = await store.posts.get_by_id(post_id)
        assert stored is not None and stored.deleted_at is None
    assert await up(store, post_id) == [22]
    res = await pipe.handle(gone(22, minutes=40))
    assert (res.deleted, res.alerts) == (1, 1)
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at == T0 + timedelta(minutes=40)
    assert await up(store, post_id) == []
    assert await deletions(store) == [21, 20, 22]
    alerts = await store.alerts.for_person(person)
    assert [a.kind for a in alerts] == ["new", "delete"]
    assert alerts[1].reply_to_alert == alerts[0].id
    again = await pipe.handle(gone(20, 21, 22, minutes=50))
    assert (again.deleted, again.alerts, again.duplicates) == (0, 0, 3)
    assert await deletions(store) == [21, 20, 22]


async def test_a_whole_album_deleted_at_once_is_one_deletion(store: Store) -> None:
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe)  # the caption on the first photo, which goes too
    res = await pipe.handle(gone(20, 21, 22, 999))
    assert (res.deleted, res.alerts, res.duplicates) == (1, 1, 1)
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is not None
    assert stored.text == CAPTION and stored.version == 1  # no "caption removed" on the way
    assert await deletions(store) == [20, 21, 22]
    assert await kinds(store, person) == ["new", "delete"]


async def test_the_caption_gone_with_its_photo_is_an_edit_of_the_album(store: Store) -> None:
    """The first photo carried the caption (the album's text): Telegram keeps the other photos
    without it. The album's text is now empty, a version of its own, and whoever was alerted
    hears of the edit; the deletion follows when the last photo goes."""
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe)
    res = await pipe.handle(gone(20))
    assert (res.deleted, res.edited, res.alerts) == (0, 1, 1)
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is None
    assert stored.text == "" and stored.version == 2
    versions = await store.posts.versions(post_id)
    assert [v.text for v in versions] == [CAPTION, ""]
    assert versions[1].edit_date == T0 + timedelta(minutes=30)
    alerts = await store.alerts.for_person(person)
    assert [a.kind for a in alerts] == ["new", "edit"]
    assert alerts[1].reply_to_alert == alerts[0].id and alerts[1].version == 2
    trail = await store.db.fetchall(
        "SELECT message_id, kind, version FROM evidence WHERE message_id = 20 ORDER BY id"
    )
    assert [tuple(r) for r in trail] == [
        (20, "version", 1),
        (20, "deletion", 1),
        (20, "version", 2),
    ]
    # The album's words stay findable in its versions; the rest goes as before.
    await pipe.handle(gone(21, 22, minutes=60))
    assert await kinds(store, person) == ["new", "edit", "delete"]


async def test_a_later_photos_caption_gone_is_recorded_not_guessed(store: Store) -> None:
    """A later photo's caption became the album's text, and that photo is deleted. Which
    message a caption came from is not stored, so the text is kept and the deletion recorded:
    a re-read of the channel brings whatever caption Telegram still shows."""
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe, caption_on=21)
    res = await pipe.handle(gone(21))
    assert (res.deleted, res.edited, res.alerts) == (0, 0, 0)
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.text == CAPTION and stored.version == 2
    assert await deletions(store) == [21]
    assert await kinds(store, person) == ["new"]


async def test_an_album_of_one_message_is_deleted_with_it(store: Store) -> None:
    # Only the first photo ever reached us (the rest never did): it is the album's last.
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe, ids=(20,))
    res = await pipe.handle(gone(20))
    assert (res.deleted, res.alerts) == (1, 1)
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is not None and stored.text == CAPTION
    assert await kinds(store, person) == ["new", "delete"]


# -- albums stored before the migration ---------------------------------------------------


def _before(found: list[tuple[int, str, str]]) -> int:
    return next(number for number, name, _ in found if name.endswith("_album_deleted.sql")) - 1


OLD_ROWS = [
    f"INSERT INTO sources (id, username, added_at) VALUES (1, '{CHANNEL}', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, media, grouped_id, stored_at)"
    f" VALUES (1, 1, 20, 1000, '{CAPTION}', 'photo', {ALBUM}, 0)",
    "INSERT INTO post_versions (post_id, version, text, recorded_at)"
    f" VALUES (1, 1, '{CAPTION}', 0)",
    "INSERT INTO album_items (source_id, message_id, post_id) VALUES (1, 21, 1)",
    "INSERT INTO album_items (source_id, message_id, post_id) VALUES (1, 22, 1)",
]


async def test_an_album_stored_before_the_migration_keeps_working(db_target: str) -> None:
    if db_target.startswith("postgresql"):
        conn = await old_postgres(db_target, _before(pg_migrations()), OLD_ROWS)
        await conn.execute("SELECT setval(pg_get_serial_sequence('posts', 'id'), 1)")
        await conn.close()
    else:
        old_sqlite(db_target, _before(migrations()), OLD_ROWS)
    store = await Store.open(db_target)
    try:
        assert await up(store, 1) == [20, 21, 22]  # every member of an old album is up
        pipe = Pipeline(store)
        await pipe.handle(gone(22))
        stored = await store.posts.get_by_id(1)
        assert stored is not None and stored.deleted_at is None
        assert await up(store, 1) == [20, 21]
        # A new photo of the same album still folds into it, and is up.
        await pipe.handle(photo(23))
        assert await up(store, 1) == [20, 21, 23]
        res = await pipe.handle(gone(20, 21, 23, minutes=50))
        assert res.deleted == 1
        assert await deletions(store) == [22, 20, 21, 23]
    finally:
        await store.close()


def _snapshot(rows: Any) -> dict[int, tuple[bool, bool]]:
    return {mid: (snap.deleted, snap.album) for mid, snap in rows.items()}


async def test_the_snapshot_reconciliation_reads_is_per_message(store: Store) -> None:
    pipe = Pipeline(store)
    await album(pipe, caption_on=21)
    src = await store.sources.by_username(CHANNEL)
    assert src is not None
    await pipe.handle(gone(20))
    await pipe.handle(gone(22, minutes=40))
    snap = await store.posts.snapshot(src.id, 1, 100)
    assert _snapshot(snap) == {20: (True, False), 21: (False, True), 22: (True, True)}


# -- the album's link once its first message is gone ---------------------------------------

EDITED = CAPTION + " Приміські електрички курсують за графіком."


def link(mid: int) -> str:
    return f"https://t.me/{CHANNEL}/{mid}"


async def test_an_update_links_a_message_of_the_album_that_is_still_up(store: Store) -> None:
    """The first photo is deleted, then the caption (on the second) is edited: the "updated"
    follow-up, a new alert the edit brings and the archive cite the album by a message that is
    still up, never the deleted one (its link opens nothing)."""
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe, caption_on=21)
    await pipe.handle(gone(20))
    # A second journalist whose rule only the edited caption matches.
    late = await store.people.add(role="journalist", user_id=32, lang="en")
    await store.rules.add("електричка", rule_to_json(parse_rule("електричка")))
    await pipe.refresh_rules()
    res = await pipe.handle(replace(photo(21, EDITED), edit_date=T0 + timedelta(minutes=40)))
    assert res.edited == 1
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.text == EDITED
    assert stored.permalink == link(21)
    first, update = await store.alerts.for_person(person)
    assert (first.kind, update.kind) == ("new", "edit")
    assert link(20) in first.payload["plain"]  # sent before the photo went
    for alert in (update, *await store.alerts.for_person(late.id)):
        assert link(21) in alert.payload["plain"], alert.payload["plain"]
        assert link(20) not in alert.payload["plain"]
        assert all(link(20) not in m["html"] for m in alert.payload["messages"])
    page = await search_posts(store, "завали", zone=ZoneInfo("Europe/Kyiv"))
    assert [h.post.permalink for h in page.hits] == [link(21)]


async def test_the_caption_gone_with_the_first_photo_links_the_next(store: Store) -> None:
    person = await desk(store)
    pipe = Pipeline(store)
    post_id = await album(pipe)  # the caption on the first photo, which goes
    await pipe.handle(gone(20))
    _, update = await store.alerts.for_person(person)
    assert update.kind == "edit"
    assert link(21) in update.payload["plain"] and link(20) not in update.payload["plain"]
    # Then the next one: the album's link moves on to the last photo up.
    await pipe.handle(gone(21, minutes=35))
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.permalink == link(22)
    # The whole album gone: its link stays the last message that was up.
    await pipe.handle(gone(22, minutes=40))
    stored = await store.posts.get_by_id(post_id)
    assert stored is not None and stored.deleted_at is not None
    assert stored.permalink == link(22)


def _before_link(found: list[tuple[int, str, str]]) -> int:
    return next(number for number, name, _ in found if name.endswith("_album_link.sql")) - 1


async def test_an_album_whose_first_photo_went_before_the_upgrade_is_cited_anew(
    db_target: str,
) -> None:
    rows = [
        *OLD_ROWS,
        "INSERT INTO album_deleted (source_id, message_id, post_id, deleted_at)"
        " VALUES (1, 20, 1, 2000)",
        # Another album, whose later photo went: its link stays its own.
        "INSERT INTO posts (id, source_id, message_id, date, text, media, grouped_id, stored_at)"
        " VALUES (2, 1, 40, 3000, '', 'photo', 4456, 0)",
        "INSERT INTO album_items (source_id, message_id, post_id) VALUES (1, 41, 2)",
        "INSERT INTO album_deleted (source_id, message_id, post_id, deleted_at)"
        " VALUES (1, 41, 2, 4000)",
    ]
    if db_target.startswith("postgresql"):
        conn = await old_postgres(db_target, _before_link(pg_migrations()), rows)
        await conn.execute("SELECT setval(pg_get_serial_sequence('posts', 'id'), 2)")
        await conn.close()
    else:
        old_sqlite(db_target, _before_link(migrations()), rows)
    store = await Store.open(db_target)
    try:
        first, second = await store.posts.many([1, 2])
        assert (first.permalink, second.permalink) == (link(21), link(40))
    finally:
        await store.close()
