"""Deletions: a post gone from its channel, or some messages of an album.

An album (messages sharing a `grouped_id`) is one post, keyed by its first message's id, the
others folded into it (storage/posts.py). Telegram lets a channel delete single photos of an
album and keeps the rest, caption and all unless the caption went with its photo. So a deleted
message of an album is recorded on its own (storage: `album_deleted`; the evidence trail: a
'deletion' record under that message's own id, with the update that said so) and the post stays
up; it is deleted, with the "deleted" follow-up to whoever was alerted, only when the album's
last message goes. One deletion removing the whole album is one deletion, nothing on the way.
While it stays up, the album is cited (its permalink) by the first of its messages still up, and
an alert's picture is one of those (storage/posts.py: `link_id`; storage/media.py).

The caption: when the album's first message carried it (its first version has text, and while
that message is up no other photo's caption replaces it, see `Pipeline._album_member_update`),
deleting that message while other photos stay leaves the album without text on Telegram: that
is an edit of the post, a version with an empty text and an "updated" follow-up. A later photo's
caption may also be the album's text, but which message it came from is not stored: then the
deletion is only recorded, and the next re-read of the channel brings whatever caption Telegram
still shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.ingest.capture import deletion_record
from bot.ingest.steps import IngestResult, alert_args
from bot.ingest.versions import reread
from storage.db import now
from storage.models import Source, StoredPost, to_ts
from storage.records import Deletion, Post

if TYPE_CHECKING:
    from bot.ingest.pipeline import Pipeline


async def delete(pipe: Pipeline, event: Deletion) -> IngestResult:
    """Handle `event` in the caller's transaction."""
    store = pipe.store
    res = IngestResult()
    src = await store.sources.by_username(event.channel)
    if src is None and event.channel_id is not None:
        src = await store.sources.by_peer(event.channel_id)
    if src is None:
        return IngestResult(duplicates=len(event.message_ids))
    # Another process may be storing these very posts (PostgreSQL): wait for it.
    await store.sources.hold(src.id)
    when = to_ts(event.date) or now()
    albums: dict[int, list[int]] = {}  # post id -> its messages this event deletes
    for message_id in event.message_ids:
        stored = await store.posts.get(src.id, message_id)
        if stored is not None and stored.grouped_id is None:
            await _post_gone(pipe, src, event, message_id, stored, when, res)
            continue
        post_id = (
            stored.id
            if stored is not None
            else await store.posts.album_post_id(src.id, message_id)
        )
        if post_id is None:
            res.duplicates += 1  # an id we never stored is nothing to us
            continue
        albums.setdefault(post_id, []).append(message_id)
    for post_id, message_ids in albums.items():
        await _album_messages_gone(pipe, src, event, post_id, message_ids, when, res)
    return res


async def _post_gone(
    pipe: Pipeline,
    src: Source,
    event: Deletion,
    message_id: int,
    stored: StoredPost,
    when: int,
    res: IngestResult,
    *,
    recorded: bool = False,
) -> None:
    """Mark the post deleted, record it (unless `recorded`) and follow up with everyone who was
    alerted about it."""
    store = pipe.store
    if not await store.posts.mark_deleted(stored.id, when):
        res.duplicates += 1
        return
    res.deleted += 1
    if not recorded:
        await store.evidence.record(**deletion_record(src, event, message_id, stored))
    if not (pipe.alert and src.active):
        return
    post = await store.posts.get_by_id(stored.id)
    assert post is not None
    for original in await store.alerts.originals(post.id):
        person = await pipe.follow_up_to(original.person_id, src)
        if person is None:
            continue
        payload = await pipe.drafter.compose(
            "delete",
            post,
            src,
            person,
            deleted_at=datetime.fromtimestamp(when, UTC),
            deleted_found=event.found,
        )
        gone = alert_args(person, post, "delete", payload, None, original.id)
        if await store.alerts.enqueue(**gone) is not None:
            res.alerts += 1


async def _album_messages_gone(
    pipe: Pipeline,
    src: Source,
    event: Deletion,
    post_id: int,
    message_ids: list[int],
    when: int,
    res: IngestResult,
) -> None:
    store = pipe.store
    post = await store.posts.get_by_id(post_id)
    assert post is not None
    loss = await store.posts.remove_album_messages(src.id, post_id, message_ids, when)
    res.duplicates += len(message_ids) - len(loss.removed)
    for message_id in loss.removed:
        await store.evidence.record(**deletion_record(src, event, message_id, post))
    if not loss.removed or post.deleted_at is not None:
        return  # told before, or an album deleted whole before its messages were kept apart
    if loss.left == 0:
        await _post_gone(pipe, src, event, post.message_id, post, when, res, recorded=True)
        return
    res.removed += len(loss.removed)
    # A removed photo's words are no longer the album's (its file stays, as evidence).
    await reread(store, post.id)
    if post.message_id in loss.removed and post.text.strip():
        versions = await store.posts.versions(post.id)
        if versions and versions[0].text.strip():
            # The first message's own caption was the album's text, and it went with it.
            res.add(await _caption_gone(pipe, src, post, when))


async def _caption_gone(pipe: Pipeline, src: Source, post: StoredPost, when: int) -> IngestResult:
    """The album's text, removed with the message that carried it: a version with no text.
    Its evidence record is this inference (no source sent the empty caption); the deletion
    record before it holds what the source did send."""
    emptied = Post(
        channel=src.username,
        message_id=post.message_id,
        date=post.date,
        text="",
        edit_date=datetime.fromtimestamp(when, UTC),
        media=post.media,
        grouped_id=post.grouped_id,
        channel_id=src.peer_id,
    )
    return await pipe.edit(src, post, emptied, caption_gone=True)
