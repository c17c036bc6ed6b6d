"""The twins of storage/ingest.py: the same writes, one call at a time through the repositories
(an asyncpg pool has no database thread to save trips to), and posts indexed by the
`post_search` trigger instead of an FTS5 insert."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from storage.alerts import THREAD_HEAD, first_heads, thread_heads
from storage.ingest import (
    AlertPlan,
    IngestRepo,
    NewPost,
    RulesVersion,
    Stored,
    StoredMany,
    Thread,
    split_known,
    thread_key,
    thread_keys,
)
from storage.models import Source, to_ts
from storage.posts import PostRepo
from storage.records import permalink
from storage.store import Store


class PgPostRepo(PostRepo):
    async def _index(self, conn: Any, rows: Sequence[tuple[int, str, str]]) -> None:
        return None  # post_search_sync (migrations/0005) indexes every insert


class PgIngestRepo(IngestRepo):
    def __init__(self, store: Store) -> None:
        super().__init__(store.db)
        self.store = store

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self.store.transaction():
            yield

    async def _resolve(
        self, channel: str, channel_id: int | None, title: str | None
    ) -> tuple[Source, bool]:
        src = await self.store.sources.by_username(channel)
        if src is None and channel_id is not None:
            src = await self.store.sources.by_peer(channel_id)
        if src is not None:
            return src, False
        return await self.store.sources.ensure(channel, peer_id=channel_id, title=title), True

    async def _known(self, source_id: int, post: NewPost) -> bool:
        posts = self.store.posts
        p = post.post
        return (
            await posts.get(source_id, p.message_id) is not None
            or await posts.album_post_id(source_id, p.message_id) is not None
            or (
                p.grouped_id is not None
                and await posts.by_album(source_id, p.grouped_id) is not None
            )
        )

    def _evidence(self, src: Source, item: NewPost) -> dict[str, Any]:
        return {
            "channel": src.username,
            "channel_id": src.peer_id or item.post.channel_id,
            "message_id": item.post.message_id,
            "kind": "version",
            "version": 1,
            "origin": item.origin,
            "raw": item.raw,
        }

    async def store_post(
        self,
        item: NewPost,
        *,
        rules_version: RulesVersion,
        quiet_as: str | None,
        recipients: bool = False,
        plan: AlertPlan | None = None,
    ) -> Stored:
        post = item.post
        src, created = await self._resolve(post.channel, post.channel_id, post.channel_title)
        # First, as in store_many: the channel's row lock orders this against another process
        # storing the same channel, so `_known` sees what that one committed.
        await self.store.sources.advance(src.id, post.message_id, to_ts(post.date))
        version = await self.store.rules.version()
        if await self._known(src.id, item):
            return Stored(src, created, "known", version)
        post_id = await self.store.posts.insert(src.id, post, item.norm, item.lemmas)
        await self.store.evidence.record(**self._evidence(src, item))
        stored = await self.store.posts.get_by_id(post_id)
        assert stored is not None
        wanted = recipients or plan is not None
        people = await self.store.people.recipients(src.id) if wanted else None
        out = Stored(src, created, "stored", version, stored, recipients=people)
        if plan is not None:
            link = permalink(src.username, post.message_id)
            out.forwarded_to = frozenset(await self.store.alerts.alerted_about_forwards(link))
        planned = out.planned(plan, rules_version)
        if planned is not None:
            ids = await self.enqueue(planned[0], thread=planned[1])
            out.alerts = sum(i is not None for i in ids)
        return out

    async def store_many(self, items: Sequence[NewPost]) -> StoredMany:
        first = items[0].post
        src, created = await self._resolve(first.channel, first.channel_id, first.channel_title)
        out = StoredMany(src, created)
        # The channel's row first: its lock (held to commit) makes another process storing
        # this channel (a listener beside an import) wait, or wait for us, before either
        # looks at which posts are known. Looked at first, both saw a post as new and the
        # second insert failed the whole batch on the unique key. store_post does the same.
        await self.store.sources.advance(
            src.id,
            max(it.post.message_id for it in items),
            max(to_ts(it.post.date) or 0 for it in items),
        )
        known = await self.store.posts.known_ids(src.id, [it.post.message_id for it in items])
        fresh = split_known(items, known, out)
        out.ids = await self.store.posts.insert_many(
            src.id, [(it.post, it.norm, it.lemmas) for it in fresh]
        )
        await self.store.evidence.record_many([self._evidence(src, it) for it in fresh])
        return out

    async def enqueue(
        self,
        alerts: Sequence[Mapping[str, Any]],
        *,
        thread: Thread | None = None,
        commit: bool = False,
    ) -> list[int | None]:
        heads: dict[tuple[int, int], int] = {}
        wanted = {k for a in alerts if (k := thread_key(a, thread)) is not None}
        if wanted and thread is not None:
            rows = await self.db.fetchall(
                *thread_heads(thread.source_id, thread.since, thread.before, wanted)
            )
            heads = first_heads(rows, wanted)
        out: list[int | None] = []
        for a, key, alone in thread_keys(alerts, thread):
            if alone and key is not None and thread is not None:
                row = await self.db.fetchone(
                    THREAD_HEAD, (*key, thread.source_id, thread.since, thread.before)
                )
                if row is not None:
                    a = {**a, "reply_to_alert": int(row[0])}
            elif key is not None and key in heads:
                a = {**a, "reply_to_alert": heads[key]}
            out.append(await self.store.alerts.enqueue(**a))
        return out
