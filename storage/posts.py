"""Posts, their versions and album members.

The FTS index follows `posts` through triggers on edit, OCR text and deletion; a new post's row
is inserted by the code that stores the post, after its other writes (migration 0014 says why).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, now
from storage.models import PostVersion, StoredPost, ThreadPost, to_ts, ts
from storage.records import Post

_SELECT = "SELECT p.*, s.username FROM posts p JOIN sources s ON s.id = p.source_id"
SELECT_POST = _SELECT

INSERT_POST = (
    "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, media,"
    " grouped_id, forward_from, forward_link, reply_to, links, edit_date, stored_at, media_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A post's versions: post_versions holds each version from the first edit on, the first one
# included (written by that edit, from the post's own row: FIRST_VERSION); a post never edited
# is its one version, read from the post itself (VERSIONS). Storing a new post writes no version
# row: the row repeated the post's text, and a quiet live post's commit wrote 2.5 more pages for
# it (bench/import_search.py counts them). Databases from before keep their first-version rows,
# which read the same.
FIRST_VERSION = (
    "INSERT INTO post_versions (post_id, version, text, edit_date, recorded_at, ocr_text)"
    " SELECT id, 1, text, edit_date, stored_at, ocr_text FROM posts WHERE id = ? AND version = 1"
    " ON CONFLICT (post_id, version) DO NOTHING"
)
VERSIONS = (
    "SELECT post_id, version, text, edit_date, recorded_at, changed, ocr_text"
    " FROM post_versions WHERE post_id = ?"
    " UNION ALL SELECT id, 1, text, edit_date, stored_at, NULL, ocr_text FROM posts"
    " WHERE id = ? AND NOT EXISTS"
    " (SELECT 1 FROM post_versions WHERE post_id = ? AND version = 1)"
    " ORDER BY version"
)
# A new post has no text read from its pictures yet (set_ocr re-indexes through the trigger).
INDEX_POST = (
    "INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas) VALUES (?, ?, ?, '', '')"
)


def post_params(source_id: int, post: Post, norm: str, lemmas: str, stamp: int) -> tuple[Any, ...]:
    """INSERT_POST's parameters."""
    return (
        source_id,
        post.message_id,
        to_ts(post.date),
        post.text,
        norm,
        lemmas,
        post.media,
        post.grouped_id,
        post.forward_from,
        post.forward_link,
        post.reply_to,
        json.dumps(list(post.links)) if post.links else None,
        to_ts(post.edit_date),
        stamp,
        post.media_key,
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What reconciliation compares against Telegram's current history."""

    message_id: int
    text: str
    edit_date: int | None
    deleted: bool
    album: bool  # a folded album member, not a post of its own
    media_key: str | None = None  # what its picture or file is (None: not known)
    links: tuple[str, ...] = ()  # the post's links (an album member's are its post's)


@dataclass(frozen=True, slots=True)
class MediaSwap:
    """One message's picture or file replaced by an edit: which message, what it is now, and
    what it was (None: not known)."""

    message_id: int
    key: str
    was: str | None


@dataclass(frozen=True, slots=True)
class AlbumMember:
    """One message of an album: the post's own (its first) or one folded into it."""

    message_id: int
    deleted_at: datetime | None  # when its deletion was noticed; None while it is up

    @property
    def up(self) -> bool:
        return self.deleted_at is None


@dataclass(frozen=True, slots=True)
class AlbumLoss:
    """What one deletion did to an album: the messages it removed that were still up, and how
    many of the album's messages are left."""

    removed: tuple[int, ...]
    left: int


# Every message of an album post: its own and those folded into it, with when each was deleted.
_ALBUM_MEMBERS = (
    "SELECT m.message_id, d.deleted_at FROM ("
    "SELECT source_id, message_id FROM posts WHERE id = ?"
    " UNION SELECT source_id, message_id FROM album_items WHERE post_id = ?) m"
    " LEFT JOIN album_deleted d ON d.source_id = m.source_id AND d.message_id = m.message_id"
    " ORDER BY m.message_id"
)


_TEXT = frozenset({"text"})  # what a version with no `changed` changed (migration 0025)


class PostRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, source_id: int, message_id: int) -> StoredPost | None:
        row = await self.db.fetchone(
            _SELECT + " WHERE p.source_id = ? AND p.message_id = ?", (source_id, message_id)
        )
        return StoredPost.from_row(row) if row else None

    async def get_by_id(self, post_id: int) -> StoredPost | None:
        row = await self.db.fetchone(_SELECT + " WHERE p.id = ?", (post_id,))
        return StoredPost.from_row(row) if row else None

    async def get_by_link(self, username: str, message_id: int) -> StoredPost | None:
        """By permalink; an album member's id finds the album's post."""
        row = await self.db.fetchone(
            _SELECT + " WHERE s.username = ? AND p.message_id = ?", (username, message_id)
        )
        if row is None:
            row = await self.db.fetchone(
                _SELECT + " JOIN album_items a ON a.post_id = p.id"
                " WHERE s.username = ? AND a.message_id = ?",
                (username, message_id),
            )
        return StoredPost.from_row(row) if row else None

    async def by_album(self, source_id: int, grouped_id: int) -> StoredPost | None:
        row = await self.db.fetchone(
            _SELECT + " WHERE p.source_id = ? AND p.grouped_id = ? ORDER BY p.message_id LIMIT 1",
            (source_id, grouped_id),
        )
        return StoredPost.from_row(row) if row else None

    async def album_post_id(self, source_id: int, message_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT post_id FROM album_items WHERE source_id = ? AND message_id = ?",
            (source_id, message_id),
        )
        return int(row[0]) if row else None

    async def add_album_item(
        self, source_id: int, message_id: int, post_id: int, media_key: str | None = None
    ) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO album_items (source_id, message_id, post_id, media_key)"
            " VALUES (?, ?, ?, ?)",
            (source_id, message_id, post_id, media_key),
        )

    async def media_key(self, post_id: int, message_id: int) -> str | None:
        """What the picture or file of one of the post's messages is as we hold it (its own,
        or an album's other message's); None when not known."""
        row = await self.db.fetchone(
            "SELECT media_key FROM posts WHERE id = ? AND message_id = ?"
            " UNION ALL SELECT media_key FROM album_items WHERE post_id = ? AND message_id = ?",
            (post_id, message_id, post_id, message_id),
        )
        return row[0] if row else None

    async def set_media_key(self, post_id: int, message_id: int, media_key: str) -> None:
        """The identity of a message's media first seen (the message was stored before
        identities were kept): recorded, not a change."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE posts SET media_key = ? WHERE id = ? AND message_id = ?",
                (media_key, post_id, message_id),
            )
            await conn.execute(
                "UPDATE album_items SET media_key = ? WHERE post_id = ? AND message_id = ?",
                (media_key, post_id, message_id),
            )

    async def album_members(self, post_id: int) -> list[AlbumMember]:
        """The album's messages in id order, each up or deleted (a post that is no album: its
        own message)."""
        rows = await self.db.fetchall(_ALBUM_MEMBERS, (post_id, post_id))
        return [AlbumMember(int(r[0]), ts(r[1])) for r in rows]

    async def remove_album_messages(
        self, source_id: int, post_id: int, message_ids: Sequence[int], at: int
    ) -> AlbumLoss:
        """Mark these messages of the album deleted at `at`; those already marked keep their
        time. The post itself is the caller's to mark when nothing is left."""
        removed: list[int] = []
        async with self.db.transaction() as conn:
            for message_id in message_ids:
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO album_deleted (source_id, message_id, post_id,"
                    " deleted_at) VALUES (?, ?, ?, ?)",
                    (source_id, message_id, post_id, at),
                )
                if cur.rowcount > 0:
                    removed.append(message_id)
            cur = await conn.execute(_ALBUM_MEMBERS, (post_id, post_id))
            members = [(int(r[0]), r[1] is None) for r in await cur.fetchall()]
            up = [mid for mid, is_up in members if is_up]
            if removed and up:
                # The message the album is cited by went: cite the first one still up (a
                # deleted message's link opens nothing). None left: the last link stays.
                cur = await conn.execute(
                    "SELECT message_id, link_id FROM posts WHERE id = ?", (post_id,)
                )
                row = await cur.fetchone()
                assert row is not None
                cited = row[1] if row[1] is not None else row[0]
                if cited not in up:
                    await conn.execute(
                        "UPDATE posts SET link_id = ? WHERE id = ?",
                        (None if up[0] == row[0] else up[0], post_id),
                    )
        return AlbumLoss(tuple(removed), len(up))

    async def insert(self, source_id: int, post: Post, norm: str, lemmas: str) -> int:
        """A new post (its own first version: FIRST_VERSION); returns the post's row id."""
        stamp = now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                INSERT_POST, post_params(source_id, post, norm, lemmas, stamp)
            )
            post_id = int(cur.lastrowid or 0)
            await self._index(conn, [(post_id, norm, lemmas)])
        return post_id

    async def _index(self, conn: Any, rows: Sequence[tuple[int, str, str]]) -> None:
        """FTS rows of new posts: (post id, norm, lemmas). PostgreSQL's twin indexes by trigger."""
        await conn.executemany(INDEX_POST, rows)

    async def known_ids(self, source_id: int, message_ids: Sequence[int]) -> set[int]:
        """Which of these message ids we already hold, as posts or as album members."""
        found: set[int] = set()
        for i in range(0, len(message_ids), 500):
            part = list(message_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            for table in ("posts", "album_items"):
                rows = await self.db.fetchall(
                    f"SELECT message_id FROM {table} WHERE source_id = ?"
                    f" AND message_id IN ({marks})",
                    [source_id, *part],
                )
                found.update(int(r[0]) for r in rows)
        return found

    async def insert_many(
        self, source_id: int, rows: Sequence[tuple[Post, str, str]]
    ) -> dict[int, int]:
        """Bulk insert of new posts (ids not stored yet); returns message id -> post row id.

        A handful of statements per batch instead of several per post: imports are bound by
        round trips to the database thread, not by SQLite.
        """
        if not rows:
            return {}
        stamp = now()
        params = [post_params(source_id, p, norm, lemmas, stamp) for p, norm, lemmas in rows]
        ids: dict[int, int] = {}
        async with self.db.transaction() as conn:
            await conn.executemany(INSERT_POST, params)
            message_ids = [p.message_id for p, _, _ in rows]
            for i in range(0, len(message_ids), 500):
                part = message_ids[i : i + 500]
                marks = ",".join("?" * len(part))
                async with conn.execute(
                    "SELECT message_id, id FROM posts"
                    f" WHERE source_id = ? AND message_id IN ({marks})",
                    [source_id, *part],
                ) as cur:
                    ids.update({int(r[0]): int(r[1]) for r in await cur.fetchall()})
            # Last: a statement with a journal of its own (the inserts above) makes FTS5 flush
            # what it holds, so the index is written once per transaction, not once per post.
            await self._index(
                conn, [(ids[p.message_id], norm, lemmas) for p, norm, lemmas in rows]
            )
        return ids

    async def add_version(
        self,
        post_id: int,
        text: str,
        norm: str,
        lemmas: str,
        edit_date: int | None,
        media: str | None = None,
        *,
        changed: Sequence[str] = ("text",),
        links: Sequence[str] | None = None,
        media_of: MediaSwap | None = None,
        revive: bool = True,
    ) -> int:
        """Store an edit as the next version; returns the new version number. `changed`: what
        it changed ('text', 'media', 'links'); `links`: the post's links now (None: as they
        were); `media_of`: the message whose picture or file was replaced, and by what;
        `revive`: a post marked deleted is up again (the edit came after the deletion)."""
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute("SELECT version FROM posts WHERE id = ?", (post_id,))
            ).fetchone()
            assert row is not None
            version = int(row[0]) + 1
            # The post as it was becomes version 1's row, if it has none (FIRST_VERSION).
            await conn.execute(FIRST_VERSION, (post_id,))
            # Images that did not change with the text keep their OCR text on the new version
            # (a replaced one's text is read again: Capture sets it, storage.posts.set_ocr).
            await conn.execute(
                "INSERT INTO post_versions (post_id, version, text, edit_date, recorded_at,"
                " ocr_text) VALUES (?, ?, ?, ?, ?, (SELECT ocr_text FROM posts WHERE id = ?))",
                (post_id, version, text, edit_date, now(), post_id),
            )
            if tuple(changed) != ("text",):
                # NULL says "text", as every version recorded before migration 0025 did.
                await conn.execute(
                    "UPDATE post_versions SET changed = ? WHERE post_id = ? AND version = ?",
                    (",".join(changed), post_id, version),
                )
            await conn.execute(
                "UPDATE posts SET text = ?, norm = ?, lemmas = ?, edit_date = ?, version = ?,"
                " media = COALESCE(?, media)"
                + (", deleted_at = NULL" if revive else "")
                + " WHERE id = ?",
                (text, norm, lemmas, edit_date, version, media, post_id),
            )
            if links is not None:
                await conn.execute(
                    "UPDATE posts SET links = ? WHERE id = ?",
                    (json.dumps(list(links)) if links else None, post_id),
                )
            if media_of is not None:
                await self._swap_media(conn, post_id, media_of)
        return version

    async def _swap_media(self, conn: Any, post_id: int, swap: MediaSwap) -> None:
        """The message's media is now `swap.key`. Its files kept before identities were (no
        key) were of the media it had: tagged with that, so they read as replaced."""
        for table, column in (("posts", "id"), ("album_items", "post_id")):
            await conn.execute(
                f"UPDATE {table} SET media_key = ? WHERE {column} = ? AND message_id = ?",
                (swap.key, post_id, swap.message_id),
            )
        await conn.execute(
            "UPDATE post_media SET media_key = ? WHERE post_id = ? AND message_id = ?"
            " AND media_key IS NULL",
            (swap.was or "", post_id, swap.message_id),
        )

    async def set_ocr(self, post_id: int, text: str, norm: str, lemmas: str) -> None:
        """The text read from the post's images: its own field, indexed, on the current
        version too."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE posts SET ocr_text = ?, ocr_norm = ?, ocr_lemmas = ? WHERE id = ?",
                (text, norm, lemmas, post_id),
            )
            await conn.execute(
                "UPDATE post_versions SET ocr_text = ? WHERE post_id = ?"
                " AND version = (SELECT version FROM posts WHERE id = ?)",
                (text, post_id, post_id),
            )

    async def norm_rows(self, after_id: int, limit: int) -> list[tuple[int, str, str, str, str]]:
        """(id, text, norm, ocr_text, ocr_norm) of up to `limit` posts after `after_id`, in id
        order: what a re-normalisation compares."""
        rows = await self.db.fetchall(
            "SELECT id, text, norm, ocr_text, ocr_norm FROM posts WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [(int(r[0]), r[1] or "", r[2] or "", r[3] or "", r[4] or "") for r in rows]

    async def set_norms(self, rows: Sequence[tuple[int, str, str, str, str, str, str]]) -> int:
        """Store (id, text, norm, lemmas, ocr_text, ocr_norm, ocr_lemmas) where the post
        still has that text and text read from its pictures (an edit since they were read keeps
        its own columns); the search index follows by trigger on both back ends. Returns how
        many posts changed."""
        changed = 0
        async with self.db.transaction() as conn:
            for post_id, text, norm, lemmas, ocr_text, ocr_norm, ocr_lemmas in rows:
                cur = await conn.execute(
                    "UPDATE posts SET norm = ?, lemmas = ?, ocr_norm = ?, ocr_lemmas = ?"
                    " WHERE id = ? AND text = ? AND COALESCE(ocr_text, '') = ?",
                    (norm, lemmas, ocr_norm, ocr_lemmas, post_id, text, ocr_text),
                )
                changed += cur.rowcount > 0
        return changed

    async def set_media(self, post_id: int, media: str) -> None:
        await self.db.execute(
            "UPDATE posts SET media = COALESCE(media, ?) WHERE id = ?", (media, post_id)
        )

    async def mark_deleted(self, post_id: int, at: int) -> bool:
        """True if the post was not already marked deleted."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE posts SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (at, post_id),
            )
            return cur.rowcount > 0

    async def versions(self, post_id: int) -> list[PostVersion]:
        rows = await self.db.fetchall(VERSIONS, (post_id, post_id, post_id))
        out = []
        for r in rows:
            recorded = ts(r["recorded_at"])
            assert recorded is not None
            changed = r["changed"]
            out.append(
                PostVersion(
                    r["post_id"],
                    r["version"],
                    r["text"],
                    ts(r["edit_date"]),
                    recorded,
                    frozenset(changed.split(","))
                    if changed
                    else (_TEXT if r["version"] > 1 else None),
                    r["ocr_text"] or "",
                )
            )
        return out

    async def snapshot(self, source_id: int, min_id: int, max_id: int) -> dict[int, Snapshot]:
        """Stored state of message ids in [min_id, max_id], album members included."""
        # An album's message is deleted when it is (album_deleted), or when its post is (an
        # album deleted whole, or before album_deleted existed).
        out: dict[int, Snapshot] = {}
        rows = await self.db.fetchall(
            "SELECT p.message_id, p.text, p.edit_date, p.deleted_at, d.deleted_at,"
            " p.media_key, p.links FROM posts p"
            " LEFT JOIN album_deleted d ON d.source_id = p.source_id"
            " AND d.message_id = p.message_id"
            " WHERE p.source_id = ? AND p.message_id BETWEEN ? AND ?",
            (source_id, min_id, max_id),
        )
        for r in rows:
            gone = r[3] is not None or r[4] is not None
            links = tuple(json.loads(r[6])) if r[6] else ()
            out[r[0]] = Snapshot(r[0], r[1], r[2], gone, False, r[5], links)
        rows = await self.db.fetchall(
            "SELECT a.message_id, p.deleted_at, d.deleted_at, a.media_key, p.links"
            " FROM album_items a"
            " JOIN posts p ON p.id = a.post_id"
            " LEFT JOIN album_deleted d ON d.source_id = a.source_id"
            " AND d.message_id = a.message_id"
            " WHERE a.source_id = ? AND a.message_id BETWEEN ? AND ?",
            (source_id, min_id, max_id),
        )
        for r in rows:
            gone = r[1] is not None or r[2] is not None
            links = tuple(json.loads(r[4])) if r[4] else ()
            out.setdefault(r[0], Snapshot(r[0], "", None, gone, True, r[3], links))
        return out

    async def recent(self, *, limit: int = 50, source_id: int | None = None) -> list[StoredPost]:
        if source_id is None:
            rows = await self.db.fetchall(
                _SELECT + " ORDER BY p.date DESC, p.id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self.db.fetchall(
                _SELECT + " WHERE p.source_id = ? ORDER BY p.date DESC, p.id DESC LIMIT ?",
                (source_id, limit),
            )
        return [StoredPost.from_row(r) for r in rows]

    async def many(self, post_ids: Sequence[int]) -> list[StoredPost]:
        if not post_ids:
            return []
        marks = ",".join("?" * len(post_ids))
        rows = await self.db.fetchall(_SELECT + f" WHERE p.id IN ({marks})", list(post_ids))
        by_id = {r["id"]: StoredPost.from_row(r) for r in rows}
        return [by_id[i] for i in post_ids if i in by_id]

    async def of_thread(self, alert_id: int, *, limit: int = 200) -> list[ThreadPost]:
        """The posts of the thread `alert_id` ends: that alert's post and the post of each
        alert it replies to, back to the story's first (at most `limit` steps), newest first;
        one round trip. Their links and dates only: an update in a long thread reads its
        ids and links, never the words of every post above it."""
        rows = await self.db.fetchall(
            "SELECT p.id, s.username, p.message_id, p.date, p.forward_from, p.forward_link,"
            " p.link_id FROM posts p JOIN sources s ON s.id = p.source_id"
            " WHERE p.id IN (WITH RECURSIVE chain(id, reply_to_alert, post_id, depth)"
            " AS (SELECT id, reply_to_alert, post_id, 0 FROM alerts WHERE id = ?"
            " UNION ALL SELECT a.id, a.reply_to_alert, a.post_id, c.depth + 1"
            " FROM alerts a JOIN chain c ON a.id = c.reply_to_alert WHERE c.depth < ?)"
            " SELECT post_id FROM chain) ORDER BY p.date DESC, p.id DESC",
            (alert_id, limit),
        )
        out = []
        for r in rows:
            date = ts(r[3])
            assert date is not None
            out.append(ThreadPost(r[0], r[1], r[2], date, r[4], r[5], r[6]))
        return out

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM posts")
        return int(row[0]) if row else 0

    async def count_versions(self) -> int:
        """Versions of every post: the rows, and a post's own for one without a first row."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM post_versions) + (SELECT COUNT(*) FROM posts p"
            " WHERE NOT EXISTS (SELECT 1 FROM post_versions v"
            " WHERE v.post_id = p.id AND v.version = 1))"
        )
        return int(row[0]) if row else 0

    async def delete_older_than(self, cutoff: int) -> int:
        """Retention: drop posts (their versions, FTS rows and alerts cascade) before `cutoff`."""
        async with self.db.transaction() as conn:
            cur = await conn.execute("DELETE FROM posts WHERE date < ?", (cutoff,))
            return cur.rowcount
