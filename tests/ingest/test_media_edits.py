"""Media identity through the pipeline, on both back ends (a SQLite file and a PostgreSQL
schema): which edits that keep a post's words are versions, and which files are its pictures
after one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.capture import apply_ocr
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Deletion, Post
from storage.store import Store

T0 = datetime(2026, 2, 11, 8, 15, tzinfo=UTC)
TEXT = "Графік подачі електроенергії на завтра - на фото."


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


def photo_post(
    key: str | None, *, edited: int | None = None, text: str = TEXT, **kw: object
) -> Post:
    return Post(
        channel="oblenergo",
        message_id=40,
        date=T0,
        text=text,
        media="photo",
        media_key=key,
        edit_date=T0 + timedelta(minutes=edited) if edited is not None else None,
        **kw,
    )  # type: ignore[arg-type]


async def keep(store: Store, post_id: int, sha: str, key: str | None) -> None:
    await store.media.add_file(sha, 10, ".jpg", "photo")
    await store.media.attach(post_id, 40, sha, key)


async def test_a_swapped_photo_is_a_version_and_the_replaced_file_no_longer_the_posts(
    store: Store,
) -> None:
    pipe = Pipeline(store)
    await pipe.handle(photo_post("photo:2:100"))
    post = await store.posts.get_by_link("oblenergo", 40)
    assert post is not None and post.media_key == "photo:2:100"
    await keep(store, post.id, "a" * 64, "photo:2:100")
    await store.media.set_ocr("a" * 64, "черга 1: 08:00-12:00")
    await pipe.handle(photo_post("photo:2:100", edited=5))  # a reaction, a renewed reference
    assert (await store.posts.get_by_id(post.id)).version == 1  # type: ignore[union-attr]

    result = await pipe.handle(photo_post("photo:2:200", edited=10))
    assert result.edited == 1
    post = await store.posts.get_by_id(post.id)
    assert post is not None and (post.version, post.media_key) == (2, "photo:2:200")
    # The replaced picture's words are no longer the post's (the new one is not read yet).
    assert post.ocr_text == ""
    assert await store.media.of_post(post.id, current=True) == []
    await keep(store, post.id, "b" * 64, "photo:2:200")
    (current,) = await store.media.of_post(post.id, up_only=True)
    assert current.file.sha256 == "b" * 64
    assert len(await store.media.of_post(post.id)) == 2
    assert await store.media.kept("oblenergo", 40, "photo:2:200")
    assert not await store.media.kept("oblenergo", 40, "photo:2:300")
    snap = await store.posts.snapshot(post.source_id, 40, 40)
    assert snap[40].media_key == "photo:2:200"
    # The edit seen again is no new version.
    assert (await pipe.handle(photo_post("photo:2:200", edited=10))).duplicates == 1


async def test_a_post_kept_before_identities_were_learns_its_first_one_without_a_version(
    store: Store,
) -> None:
    pipe = Pipeline(store)
    await pipe.handle(photo_post(None))  # as stored before migration 0025
    post = await store.posts.get_by_link("oblenergo", 40)
    assert post is not None and post.media_key is None
    await keep(store, post.id, "c" * 64, None)

    # The first identity seen is recorded, not taken for a change.
    assert (await pipe.handle(photo_post("photo:2:100", edited=3))).duplicates == 1
    post = await store.posts.get_by_id(post.id)
    assert post is not None and (post.version, post.media_key) == (1, "photo:2:100")
    assert len(await store.media.of_post(post.id, current=True)) == 1

    # Then a real swap: the old file, kept without an identity, is the replaced one.
    assert (await pipe.handle(photo_post("photo:2:200", edited=9))).edited == 1
    assert await store.media.of_post(post.id, current=True) == []
    versions = await store.posts.versions(post.id)
    assert [v.changed for v in versions] == [None, frozenset({"media"})]


async def test_a_text_post_given_a_picture_is_an_edit_and_a_preview_is_not(
    store: Store,
) -> None:
    pipe = Pipeline(store)
    plain = Post(channel="oblenergo", message_id=41, date=T0, text="Оновлення о 10:00.")
    await pipe.handle(plain)
    # A link preview appears (Telegram loads it after the post): not a picture of the post's.
    preview = Post(
        channel="oblenergo",
        message_id=41,
        date=T0,
        text=plain.text,
        media="webpage",
        edit_date=T0 + timedelta(minutes=1),
    )
    assert (await pipe.handle(preview)).duplicates == 1
    pictured = Post(
        channel="oblenergo",
        message_id=41,
        date=T0,
        text=plain.text,
        media="photo",
        media_key="photo:4:9",
        edit_date=T0 + timedelta(minutes=2),
    )
    assert (await pipe.handle(pictured)).edited == 1
    post = await store.posts.get_by_link("oblenergo", 41)
    assert post is not None and (post.version, post.media_key) == (2, "photo:4:9")


async def test_a_photo_deleted_from_an_album_takes_its_words_out_of_the_post(
    store: Store,
) -> None:
    # Its words stayed the post's: search found the album by a picture the channel had
    # removed, and said "the image reads" of it.
    pipe = Pipeline(store)
    for mid, key in ((50, "photo:2:1"), (51, "photo:2:2")):
        await pipe.handle(
            Post(
                channel="oblenergo",
                message_id=mid,
                date=T0,
                text=TEXT if mid == 50 else "",
                media="photo",
                media_key=key,
                grouped_id=9001,
            )
        )
    post = await store.posts.get_by_link("oblenergo", 50)
    assert post is not None
    for mid, sha, words in ((50, "d" * 64, "черга 1"), (51, "e" * 64, "черга 2")):
        await store.media.add_file(sha, 10, ".jpg", "photo")
        await store.media.attach(post.id, mid, sha, f"photo:2:{mid - 49}")
        await store.media.set_ocr(sha, words)
    await store.posts.set_ocr(post.id, "черга 1\nчерга 2", "черга 1 черга 2", "черга 1 черга 2")

    await pipe.handle(Deletion(channel="oblenergo", message_ids=(51,), date=T0))
    post = await store.posts.get_by_id(post.id)
    assert post is not None and post.deleted_at is None
    assert post.ocr_text == "черга 1"
    # The evidence keeps the removed photo, and its own record says it went.
    assert len(await store.media.of_post(post.id)) == 2


async def test_a_new_picture_saying_what_the_old_one_said_is_no_news(store: Store) -> None:
    # A picture re-made (another colour, a crop) with the same words is recorded, and those
    # alerted are not told again what they were told.
    await store.people.add(role="journalist", user_id=21, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    pipe = Pipeline(store)
    caption = "Оголошено евакуацію з прикордонних сіл."
    await pipe.handle(photo_post("photo:2:1", text=caption))
    post = await store.posts.get_by_link("oblenergo", 40)
    assert post is not None
    await apply_ocr(pipe, post.id, "Евакуація триває")  # the first picture, read
    await pipe.handle(photo_post("photo:2:2", edited=5, text=caption))
    assert await apply_ocr(pipe, post.id, "Евакуація триває") == 0
    await pipe.handle(photo_post("photo:2:3", edited=9, text=caption))
    assert await apply_ocr(pipe, post.id, "Евакуація триває до неділі") == 1
    kinds = await store.db.fetchall("SELECT kind, version FROM alerts ORDER BY id")
    assert [tuple(r) for r in kinds] == [("new", 1), ("edit", 3)]


async def test_a_photo_swapped_back_to_one_already_kept_is_followed_up_like_any_swap(
    store: Store,
) -> None:
    # The listener does not download a picture it already keeps for the message, so a swap
    # back restored the kept picture's words at once, in the edit's own transaction, and the
    # reading that would have told those alerted never came: the post read "Евакуація
    # триває до неділі" again and nobody heard of it.
    await store.people.add(role="journalist", user_id=21, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    pipe = Pipeline(store)
    caption = "Оголошено евакуацію з прикордонних сіл."
    await pipe.handle(photo_post("photo:2:1", text=caption))
    post = await store.posts.get_by_link("oblenergo", 40)
    assert post is not None
    await keep(store, post.id, "a" * 64, "photo:2:1")
    await store.media.set_ocr("a" * 64, "Евакуація триває до неділі")
    await apply_ocr(pipe, post.id, "Евакуація триває до неділі")
    # Swapped for a picture whose words match nothing: recorded, announced to nobody.
    await pipe.handle(photo_post("photo:2:2", edited=5, text=caption))
    await keep(store, post.id, "b" * 64, "photo:2:2")
    await store.media.set_ocr("b" * 64, "Пункти збору: школа № 3")
    assert await apply_ocr(pipe, post.id, "Пункти збору: школа № 3") == 0
    assert not await store.media.kept("oblenergo", 40, "photo:2:3")

    # And back: the kept picture is the post's again, and its words are news again.
    assert (await pipe.handle(photo_post("photo:2:1", edited=9, text=caption))).alerts == 1
    post = await store.posts.get_by_id(post.id)
    assert post is not None and post.ocr_text == "Евакуація триває до неділі"
    kinds = await store.db.fetchall("SELECT kind, version FROM alerts ORDER BY id")
    assert [tuple(r) for r in kinds] == [("new", 1), ("edit", 3)]
    (*_, follow_up) = await store.alerts.for_person((await store.people.list())[0].id)
    assert "Евакуація триває до неділі" in follow_up.payload["plain"]
    # Read again all the same (a file handed over again): no second follow-up.
    assert await apply_ocr(pipe, post.id, "Евакуація триває до неділі") == 0


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ("photo:2:1", "photo:2:2", "Також замінено фото."),
        (None, "photo:2:2", "Також додано фото."),
    ],
)
async def test_a_caption_and_its_picture_changed_in_one_edit_are_told_in_one_follow_up(
    store: Store, before: str | None, after: str, said: str
) -> None:
    # The official rewrote the caption and put another picture under it in one edit: the
    # follow-up said only what the caption changed, and the new picture (whose words may match
    # nothing) was never mentioned to those alerted.
    await store.people.add(role="journalist", user_id=21, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    pipe = Pipeline(store)
    first = "Оголошено евакуацію з прикордонних сіл."
    if before is not None:
        await pipe.handle(photo_post(before, text=first))
    else:
        await pipe.handle(Post(channel="oblenergo", message_id=40, date=T0, text=first))
    res = await pipe.handle(
        photo_post(after, edited=5, text="Оголошено евакуацію з дев'яти прикордонних сіл.")
    )
    assert res.alerts == 1
    (*_, follow_up) = await store.alerts.for_person((await store.people.list())[0].id)
    assert follow_up.kind == "edit"
    plain = follow_up.payload["plain"]
    assert "дев'яти" in plain and said in plain, plain
    # An edit of the words alone says nothing of a picture.
    await pipe.handle(photo_post(after, edited=9, text="Оголошено евакуацію з 9 сіл."))
    (*_, words_only) = await store.alerts.for_person((await store.people.list())[0].id)
    assert words_only.id != follow_up.id and "Також" not in words_only.payload["plain"]


async def test_an_albums_caption_and_its_photo_changed_in_one_edit_are_both_kept_and_told(
    store: Store,
) -> None:
    # An album whose words are a later photo's caption: an edit of that caption and that photo
    # at once was taken for a swap alone; the new caption was never stored and nobody heard.
    await store.people.add(role="journalist", user_id=21, lang="uk")
    await store.rules.add("евакуація", rule_to_json(parse_rule("евакуація")))
    pipe = Pipeline(store)

    def item(mid: int, key: str, text: str = "", edited: int | None = None) -> Post:
        when = T0 + timedelta(minutes=edited) if edited is not None else None
        return Post(
            channel="oblenergo",
            message_id=mid,
            date=T0,
            text=text,
            media="photo",
            media_key=key,
            grouped_id=77,
            edit_date=when,
        )

    await pipe.handle(item(50, "photo:2:1"))
    await pipe.handle(item(51, "photo:2:2", "Оголошено евакуацію з прикордонних сіл."))
    edited = "Оголошено евакуацію з дев'яти прикордонних сіл."
    res = await pipe.handle(item(51, "photo:2:3", edited, edited=5))
    post = await store.posts.get_by_link("oblenergo", 50)
    assert post is not None and post.text == edited
    assert res.alerts == 1
    (*_, follow_up) = await store.alerts.for_person((await store.people.list())[0].id)
    assert follow_up.kind == "edit"
    assert "дев'яти" in follow_up.payload["plain"]
    assert "Також замінено фото." in follow_up.payload["plain"]
    # One version holds both changes.
    (*_, last) = await store.posts.versions(post.id)
    assert set(last.changed or ()) == {"text", "media"}
