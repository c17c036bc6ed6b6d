"""The pipeline's writes for new posts in one round trip to the database thread.

Each `await` on aiosqlite is a hop to its thread and back, and storing one post took a dozen of
them (the source, the catch-up mark, is it known, the row, its version, its evidence, reading it
back) besides BEGIN and COMMIT. Here each of those plans is one function run in that thread
(`Database.run`): one trip per live post, one per channel and chunk of an import. The SQL is the
repositories' own (storage/posts.py, sources.py, evidence.py, rules.py), in the same order.

PostgreSQL has no database thread: its twin (storage/postgres/ingest.py) makes the same calls
one by one through the repositories.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from storage.alerts import (
    ALERTED_ABOUT_FORWARDS,
    ENQUEUE,
    THREAD_HEAD,
    enqueue_params,
    first_heads,
    thread_heads,
)
from storage.db import Database, now
from storage.evidence import INSERT_EVIDENCE, sha256_text
from storage.models import Person, Source, StoredPost, to_ts
from storage.people import RECIPIENTS
from storage.posts import (
    INDEX_POST,
    INSERT_POST,
    SELECT_POST,
    post_params,
)
from storage.records import Post, permalink
from storage.rules import RULES_VERSION
from storage.sources import ADVANCE, ENSURE_SOURCE

RulesVersion = int


@dataclass(frozen=True, slots=True)
class Thread:
    """Where a new alert's story may have begun: a post of `source_id` dated in
    [since, before) (timestamps)."""

    source_id: int
    since: int
    before: int


# Given the source, the stored post and the source's recipients: the alerts to queue for a new
# post (AlertRepo.enqueue's arguments) and where a follow-up's story may be; None when the
# caller wants to decide after the trip instead. Pure: it may run in the database thread.
AlertPlan = Callable[
    [Source, StoredPost, Sequence[Person]],
    "tuple[Sequence[Mapping[str, Any]], Thread] | None",
]


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post as the pipeline hands it over: its analysed text and its evidence (the origin
    and the message as the source gave it)."""

    post: Post
    norm: str
    lemmas: str
    origin: str
    raw: str


@dataclass(slots=True)
class Stored:
    """What `store_post` did.

    `outcome`: "stored" (a new post: `post` is its row, unless committed), or "known" (the
    message id is a stored post or an album's, or the album is stored: the caller decides, in
    the same transaction).
    `committed`: the transaction is over (the caller said nothing follows a new post, and the
    rules had not changed).
    """

    source: Source
    created: bool  # the source was registered by this post
    outcome: Literal["stored", "known"]
    rules_version: RulesVersion
    post: StoredPost | None = None
    committed: bool = False
    recipients: list[Person] | None = None  # the source's, when asked for
    alerts: int | None = None  # alerts queued by the caller's plan (None: it did not run)
    # People a stored forward of this post reached already: the plan leaves them out.
    forwarded_to: frozenset[int] = frozenset()

    def planned(
        self, plan: AlertPlan | None, rules_version: RulesVersion
    ) -> tuple[Sequence[Mapping[str, Any]], Thread] | None:
        """The alerts `plan` queues for this new post, unless the rules it was made with are
        stale or it leaves the decision to the caller."""
        if plan is None or self.rules_version != rules_version:
            return None
        if self.post is None or self.recipients is None:
            return None
        people = [p for p in self.recipients if p.id not in self.forwarded_to]
        return plan(self.source, self.post, people)


@dataclass(slots=True)
class StoredMany:
    """What `store_many` did: `ids` maps the message id of each inserted post to its row id;
    `known` lists the positions (in the posts given) of those it left to the caller (stored
    already, an album's, or a repeat within the batch)."""

    source: Source
    created: bool
    ids: dict[int, int] = field(default_factory=dict)
    known: list[int] = field(default_factory=list)


def _resolve(
    conn: sqlite3.Connection, channel: str, channel_id: int | None, title: str | None
) -> tuple[Source, bool]:
    """SourceRepo.by_username, then by_peer, then ensure: the pipeline's `_source`."""
    username = channel.lstrip("@").lower()
    row = conn.execute("SELECT * FROM sources WHERE username = ?", (username,)).fetchone()
    if row is None and channel_id is not None:
        row = conn.execute("SELECT * FROM sources WHERE peer_id = ?", (channel_id,)).fetchone()
    if row is not None:
        return Source.from_row(row), False
    conn.execute(ENSURE_SOURCE, (username, channel_id, title, now()))
    row = conn.execute("SELECT * FROM sources WHERE username = ?", (username,)).fetchone()
    assert row is not None
    return Source.from_row(row), True


def _known(conn: sqlite3.Connection, source_id: int, message_id: int, grouped: int | None) -> bool:
    """Whether the per-event path must decide: the id is stored (a post or an album member's),
    or it belongs to a stored album."""
    for sql, key in (
        ("SELECT 1 FROM posts WHERE source_id = ? AND message_id = ?", message_id),
        ("SELECT 1 FROM album_items WHERE source_id = ? AND message_id = ?", message_id),
        ("SELECT 1 FROM posts WHERE source_id = ? AND grouped_id = ? LIMIT 1", grouped),
    ):
        if key is not None and conn.execute(sql, (source_id, key)).fetchone() is not None:
            return True
    return False


def _evidence(src: Source, item: NewPost, stamp: int) -> tuple[Any, ...]:
    """INSERT_EVIDENCE's parameters for a first version: bot/ingest/capture.version_record."""
    return (
        src.username,
        src.peer_id or item.post.channel_id,
        item.post.message_id,
        "version",
        1,
        item.origin,
        item.raw,
        sha256_text(item.raw),
        stamp,
    )


def _store_post(
    conn: sqlite3.Connection,
    item: NewPost,
    *,
    rules_version: RulesVersion,
    quiet_as: str | None,
    recipients: bool,
    plan: AlertPlan | None,
    may_end: bool,
) -> Stored:
    post = item.post
    src, created = _resolve(conn, post.channel, post.channel_id, post.channel_title)
    conn.execute(ADVANCE, (post.message_id, to_ts(post.date), src.id))
    row = conn.execute(RULES_VERSION).fetchone()
    version = int(row[0])
    if _known(conn, src.id, post.message_id, post.grouped_id):
        return Stored(src, created, "known", version)
    stamp = now()
    cur = conn.execute(INSERT_POST, post_params(src.id, post, item.norm, item.lemmas, stamp))
    post_id = int(cur.lastrowid or 0)
    conn.execute(INSERT_EVIDENCE, _evidence(src, item, stamp))
    conn.execute(INDEX_POST, (post_id, item.norm, item.lemmas))
    if quiet_as == src.username and version == rules_version and may_end:
        conn.execute("COMMIT")
        return Stored(src, created, "stored", version, committed=True)
    stored = conn.execute(SELECT_POST + " WHERE p.id = ?", (post_id,)).fetchone()
    assert stored is not None
    row_post = StoredPost.from_row(stored)
    people = (
        [Person.from_row(r) for r in conn.execute(RECIPIENTS, (src.id, stamp))]
        if recipients or plan is not None
        else None
    )
    out = Stored(src, created, "stored", version, row_post, recipients=people)
    if plan is not None:
        link = permalink(src.username, post.message_id)
        out.forwarded_to = frozenset(
            int(r[0]) for r in conn.execute(ALERTED_ABOUT_FORWARDS, (link,))
        )
    planned = out.planned(plan, rules_version)
    if planned is not None:
        ids = _enqueue(conn, *planned, commit=may_end)
        out.alerts, out.committed = sum(i is not None for i in ids), may_end
    return out


def split_known(items: Sequence[NewPost], known: set[int], out: StoredMany) -> list[NewPost]:
    """The items to insert: not stored before (`known`) and not repeated within `items`; the
    others' positions go to `out.known`."""
    fresh: list[NewPost] = []
    for n, it in enumerate(items):
        if it.post.message_id in known:
            out.known.append(n)
        else:
            known.add(it.post.message_id)
            fresh.append(it)
    return fresh


def _store_many(conn: sqlite3.Connection, items: Sequence[NewPost]) -> StoredMany:
    first = items[0].post
    src, created = _resolve(conn, first.channel, first.channel_id, first.channel_title)
    out = StoredMany(src, created)
    wanted = [it.post.message_id for it in items]
    known: set[int] = set()
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        marks = ",".join("?" * len(part))
        for table in ("posts", "album_items"):
            known.update(
                int(r[0])
                for r in conn.execute(
                    f"SELECT message_id FROM {table} WHERE source_id = ?"
                    f" AND message_id IN ({marks})",
                    [src.id, *part],
                )
            )
    fresh = split_known(items, known, out)
    stamp = now()
    conn.executemany(
        INSERT_POST, [post_params(src.id, it.post, it.norm, it.lemmas, stamp) for it in fresh]
    )
    for i in range(0, len(fresh), 500):
        part = [it.post.message_id for it in fresh[i : i + 500]]
        marks = ",".join("?" * len(part))
        out.ids.update(
            (int(r[0]), int(r[1]))
            for r in conn.execute(
                "SELECT message_id, id FROM posts"
                f" WHERE source_id = ? AND message_id IN ({marks})",
                [src.id, *part],
            )
        )
    conn.executemany(INSERT_EVIDENCE, [_evidence(src, it, stamp) for it in fresh])
    top = max(it.post.message_id for it in items)
    conn.execute(ADVANCE, (top, max(to_ts(it.post.date) or 0 for it in items), src.id))
    # Last, so that FTS5 writes the chunk's terms once, at commit (migration 0014).
    conn.executemany(
        INDEX_POST, [(out.ids[it.post.message_id], it.norm, it.lemmas) for it in fresh]
    )
    return out


class IngestRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """The transaction `store_post` may begin and end in its own round trip."""
        async with self.db.transaction(lazy=True):
            yield

    async def store_post(
        self,
        item: NewPost,
        *,
        rules_version: RulesVersion,
        quiet_as: str | None,
        recipients: bool = False,
        plan: AlertPlan | None = None,
    ) -> Stored:
        """Register the source if new, raise its catch-up mark, and store the post (its own
        first version: storage/posts.py FIRST_VERSION) with its evidence and FTS row, unless
        its id is known ("known": nothing stored).

        `quiet_as`: the source's username if the caller knows nothing follows a new post from
        it (no rule of `rules_version` matches): then the transaction commits in the same trip.
        `recipients`: a new post's `recipients` are its source's (PeopleRepo.recipients), read
        in the same trip. `plan`: if the rules are still `rules_version`, the new post's alerts
        are queued as it says (`enqueue`) and the transaction commits, in the same trip.
        Inside `transaction()`."""
        return await self.db.run(
            partial(
                _store_post,
                item=item,
                rules_version=rules_version,
                quiet_as=quiet_as,
                recipients=recipients,
                plan=plan,
                # Called inside a caller's transaction, the post joins it and commits with it.
                may_end=self.db.may_end(),
            ),
            inline=True,
        )

    async def store_many(self, items: Sequence[NewPost]) -> StoredMany:
        """New posts of one channel (the first post's) in the caller's transaction, each as
        `store_post` stores it; ids stored already or repeated are left to the caller."""
        return await self.db.run(partial(_store_many, items=items))

    async def enqueue(
        self,
        alerts: Sequence[Mapping[str, Any]],
        *,
        thread: Thread | None = None,
        commit: bool = False,
    ) -> list[int | None]:
        """AlertRepo.enqueue(**a) for each, in order: the new alert ids (None: queued before).

        `thread`: a 'new' alert replies to the person's latest 'new' alert for the same rule
        about a post of `thread.source_id` dated in [since, before) (THREAD_HEADS), if
        any: a follow-up on the story. `commit`: nothing follows in the caller's own
        `transaction()`, which ends in the same trip."""
        if not alerts:
            return []
        async with self.db.transaction():
            return await self.db.run(
                partial(
                    _enqueue, alerts=alerts, thread=thread, commit=commit and self.db.may_end()
                )
            )


def _enqueue(
    conn: sqlite3.Connection,
    alerts: Sequence[Mapping[str, Any]],
    thread: Thread | None,
    commit: bool,
) -> list[int | None]:
    heads: dict[tuple[int, int], int] = {}
    wanted = {k for a in alerts if (k := thread_key(a, thread)) is not None}
    if wanted and thread is not None:
        cur = conn.execute(*thread_heads(thread.source_id, thread.since, thread.before, wanted))
        try:
            heads = first_heads(cur, wanted)
        finally:
            cur.close()  # read only as far as needed: let the statement go before COMMIT
    out: list[int | None] = []
    for a, key, alone in thread_keys(alerts, thread):
        if alone and key is not None and thread is not None:
            row = conn.execute(
                THREAD_HEAD, (*key, thread.source_id, thread.since, thread.before)
            ).fetchone()
            if row is not None:
                a = {**a, "reply_to_alert": int(row[0])}
        elif key is not None and key in heads:
            a = {**a, "reply_to_alert": heads[key]}
        cur = conn.execute(ENQUEUE, enqueue_params(**a))
        out.append(int(cur.lastrowid or 0) if cur.rowcount else None)
    if commit and conn.in_transaction:
        conn.execute("COMMIT")
    return out


def thread_keys(
    alerts: Sequence[Mapping[str, Any]], thread: Thread | None
) -> Iterator[tuple[Mapping[str, Any], tuple[int, int] | None, bool]]:
    """Each alert with its thread_key and whether its head must be looked up alone
    (THREAD_HEAD) just before it is queued: an earlier 'new' alert of the same call, same
    person and rule may be that head, and THREAD_HEADS, read before the call's first write,
    cannot see it. A live post's call never has one (one alert per recipient)."""
    earlier: set[tuple[int, int]] = set()
    for a in alerts:
        key = thread_key(a, thread)
        yield a, key, key is not None and key in earlier
        if a["kind"] == "new" and a.get("rule_id") is not None:
            earlier.add((int(a["person_id"]), int(a["rule_id"])))


def thread_key(alert: Mapping[str, Any], thread: Thread | None) -> tuple[int, int] | None:
    """(person id, rule id) of an alert that may be a follow-up on a story of `thread`, whose
    head it replies to (THREAD_HEADS); None for any other alert."""
    if thread is None or alert["kind"] != "new" or alert.get("reply_to_alert") is not None:
        return None
    if alert.get("rule_id") is None:
        return None
    return (int(alert["person_id"]), int(alert["rule_id"]))
