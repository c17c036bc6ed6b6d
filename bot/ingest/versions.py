"""Whether a post that arrives again is a new version or a state we already hold: feeds and
exports are re-read, and a replayed old text must never reach a journalist as an edit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ingest.capture import ocr_of, picture_alerts, version_record
from bot.ingest.steps import IngestResult
from bot.matching import Analysis, analyze
from storage.db import now
from storage.models import PostVersion, Source, StoredPost, to_ts
from storage.posts import MediaSwap
from storage.records import Post
from storage.store import Store

if TYPE_CHECKING:
    from bot.ingest.pipeline import Pipeline

# A version stamped with the time we recorded it (its source gave no edit date) carries no date
# of the source's; the stamp must not make a feed's later, historical edit date look stale.
_STAMP_SLACK = 2


def is_replay(post: Post, versions: Sequence[PostVersion]) -> bool:
    """Whether `post` (with a text other than the stored current one) is a state of the post we
    already hold or one superseded by it, rather than a new edit.

    An edit date no newer than the newest the source gave us is an old state; without an edit
    date (some feeds omit it) only the text can tell, and a text we stored before is old. A
    dated text equal to an older version but newer than everything stored is the official
    changing it back: an edit. Telegram dates every edit, so an undated message from it is the
    original, older than any dated version (another listener account delivered the edit
    first)."""
    dated = [
        v.edit_date
        for v in versions
        if v.edit_date is not None
        and abs((v.edit_date - v.recorded_at).total_seconds()) > _STAMP_SLACK
    ]
    if post.edit_date is None:
        if post.origin == "telegram" and dated:
            return True
        return any(v.text == post.text for v in versions)
    return bool(dated) and post.edit_date <= max(dated)


def before_deletion(existing: StoredPost, post: Post) -> bool:
    """Whether `post`, an edit of `existing`, was made before we saw `existing` deleted:
    Telegram cannot edit a deleted message, so it is history that arrived late (another
    listener account, a re-read), kept as a version but no sign that the post is up again.
    For a deletion found on a re-read, the time it was found is after it happened, so any edit
    dated before that came before the deletion too."""
    return (
        existing.deleted_at is not None
        and post.edit_date is not None
        and post.edit_date <= existing.deleted_at
    )


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit of a stored post changed besides its text: its links, the picture or file
    of the message it came from, or only an identity to record (a message stored before
    identities were kept)."""

    links: tuple[str, ...] | None = None  # the post's links now, when they changed
    swap: MediaSwap | None = None  # the message's media replaced
    first_key: str | None = None  # its media's identity, first seen: recorded, no change

    def words(self, *, text: bool) -> tuple[str, ...]:
        """What the version changed, as post_versions.changed says it."""
        return tuple(
            word
            for word, yes in (
                ("text", text),
                ("media", self.swap is not None),
                ("links", self.links is not None),
            )
            if yes
        )

    def media_news(self, kind: str | None) -> tuple[str, str] | None:
        """What the follow-up of an edit that also changed the words says of its media:
        ("replaced" or "added", the kind of media now); None when the media stayed. An edit of
        a caption and its picture at once is one follow-up, which must tell both."""
        if self.swap is None:
            return None
        # The identity of the media before is known whenever it was a picture or a file of
        # Telegram's (swapped() tells no change otherwise): none means the message had none.
        return ("replaced" if self.swap.was is not None else "added", kind or "document")

    @property
    def other(self) -> bool:
        """Whether something besides the text changed."""
        return self.swap is not None or self.links is not None


# Kinds of media whose identity a source can give (a file of Telegram's): one of these stored
# without an identity was kept before identities were, and its first is no change. Any other
# (none, a link preview, a poll) becoming a picture or a file is.
IDENTIFIED = frozenset(
    {"photo", "document", "video", "audio", "voice", "sticker", "video_note", "animation"}
)


def swapped(was: str | None, was_kind: str | None, post: Post) -> bool:
    """Whether the message's picture or file is another one than the one we hold. Only a known
    identity can tell: Telegram re-sends the same photo with a new file reference after any
    edit (and on reactions), and the identity leaves the reference out. A message with no media
    before (a text post given a picture) changed; one whose identity we never knew did not."""
    if post.media_key is None or post.media_key == was:
        return False
    return was is not None or was_kind not in IDENTIFIED


async def what_changed(store: Store, existing: StoredPost, post: Post) -> Change:
    """`post` (an edit of `existing`, from its own message or an album's other one) against
    what we hold, besides the text."""
    own = post.message_id == existing.message_id
    was = existing.media_key if own else await store.posts.media_key(existing.id, post.message_id)
    was_kind = existing.media if own else "photo"  # an album's message carries a picture
    swap: MediaSwap | None = None
    first: str | None = None
    if swapped(was, was_kind, post):
        assert post.media_key is not None
        swap = MediaSwap(post.message_id, post.media_key, was)
    elif was is None:
        first = post.media_key
    # A link's target is the post's evidence as much as its words (a text_url changed under
    # the same text). An album's links are its caption's: another photo of it says nothing.
    links = None
    if existing.grouped_id is None and tuple(post.links) != tuple(existing.links):
        links = tuple(post.links)
    return Change(links, swap, first)


async def other_edit(
    pipeline: Pipeline, src: Source, existing: StoredPost, post: Post, change: Change
) -> IngestResult:
    """An edit that leaves the post's text as it is: a new version, with its evidence, when it
    replaced a picture or file or changed a link; a repeat otherwise (Telegram re-sends a
    message on reactions and view counts: no version). Nobody is alerted now: a new picture is
    read (Capture) and its text alone may be news to those alerted about the post
    (capture.apply_ocr); a changed link is kept in the record, not announced."""
    store = pipeline.store
    if change.first_key is not None:
        await store.posts.set_media_key(existing.id, post.message_id, change.first_key)
    if post.media and not existing.media:
        await store.posts.set_media(existing.id, post.media)
    if not change.other or is_replay(post, await store.posts.versions(existing.id)):
        return IngestResult(duplicates=1)
    version = await store.posts.add_version(
        existing.id,
        existing.text,
        existing.norm,
        existing.lemmas,
        to_ts(post.edit_date) or now(),
        post.media if change.swap is not None and post.message_id == existing.message_id else None,
        changed=change.words(text=False),
        links=change.links,
        media_of=change.swap,
        revive=not before_deletion(existing, post),
    )
    await store.evidence.record(**version_record(src, post, existing.message_id, version))
    alerts = 0
    if change.swap is not None:
        restored = await reread(store, existing.id)
        if restored is not None and restored.norm:
            # Swapped back to a picture we keep: the listener downloads nothing (it keeps the
            # file for this message) and no reading follows, so its words are news now, as
            # a new picture's are when it is read.
            alerts = await picture_alerts(pipeline, existing.id, restored, alert=pipeline.alert)
    return IngestResult(edited=1, alerts=alerts)


async def reread(store: Store, post_id: int) -> Analysis | None:
    """The post's text read from its pictures, without one an edit replaced or the channel
    deleted from an album: what the others read (their text is kept with their files); a new
    picture's follows when it is downloaded and read (Capture). Returns the new text's
    analysis when it changed."""
    stored = await store.posts.get_by_id(post_id)
    if stored is None:
        return None
    text = ocr_of(await store.media.of_post(post_id, up_only=True))
    if text == stored.ocr_text:
        return None
    analysis = analyze(text)
    await store.posts.set_ocr(post_id, text, analysis.norm, analysis.lemma_text)
    return analysis
