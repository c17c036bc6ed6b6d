"""The repository methods whose SQL only SQLite speaks, in PostgreSQL's words.

Everything else the SQLite repositories do runs here as written (see `db.py`); the parity
test in tests/storage runs the same repository tests on both back ends.
"""

from __future__ import annotations

import re
from typing import Any

from storage import search as fts_settings
from storage.alerts import AlertRepo
from storage.media import MediaFile, MediaRepo, _file
from storage.models import Alert, StoredPost
from storage.postgres.db import PgDatabase
from storage.search import (
    PREFIX_INDEX,
    AnyOf,
    Filters,
    FtsNode,
    Phrase,
    SearchRepo,
    Term,
)
from storage.sources import SourceRepo

# unicode61's tokens: runs of letters and digits ("_" separates), as the index sees them.
_TOKEN_RE = re.compile(r"[^\W_]+")
_COLUMN = {"norm": "fts_norm", "lemmas": "fts_lemmas"}


def _lexeme(word: str, *, prefix: bool = False) -> str:
    quoted = "'" + word.lower().replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if prefix else "")


def _chain(words: list[str], *, prefix_last: bool = False) -> str | None:
    tokens = [t for w in words for t in _TOKEN_RE.findall(w)]
    if not tokens:
        return None
    parts = [_lexeme(t, prefix=prefix_last and i == len(tokens) - 1) for i, t in enumerate(tokens)]
    return parts[0] if len(parts) == 1 else " <-> ".join(parts)


def to_condition(node: FtsNode) -> tuple[str, list[object]] | None:
    """A condition on `post_search` (SQL with `?` marks, and its parameters) matching what
    `storage.search.to_fts` matches in FTS5: a quoted term of several tokens is a phrase, a
    prefix is cut to the same indexed length, norm and lemmas are separate vectors (each with
    its text read from pictures). None when nothing positive remains."""
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else [w for w in node.words if w]
        prefix = isinstance(node, Term) and node.prefix
        if prefix:
            words = [words[0][:PREFIX_INDEX]]
        tsq = _chain(words, prefix_last=prefix) if any(words) else None
        if tsq is None:
            return None
        return f"{_COLUMN[node.column]} @@ CAST(? AS tsquery)", [tsq]
    if isinstance(node, AnyOf):
        parts = [p for p in (to_condition(x) for x in node.parts) if p]
        if len(parts) != len(node.parts) or not parts:
            return None
        return "(" + " OR ".join(c for c, _ in parts) + ")", [v for _, ps in parts for v in ps]
    pos = [p for p in (to_condition(x) for x in node.parts) if p]
    if not pos:
        return None
    sql = "(" + " AND ".join(c for c, _ in pos) + ")"
    params = [v for _, ps in pos for v in ps]
    neg = [p for p in (to_condition(x) for x in node.exclude) if p]
    if neg:
        sql += " AND NOT (" + " OR ".join(c for c, _ in neg) + ")"
        params += [v for _, ps in neg for v in ps]
    return sql, params


class PgSearchRepo(SearchRepo):
    """Search over the `post_search` GIN index; the filters and paging are the SQLite repo's."""

    async def search(
        self,
        query: FtsNode | None,
        filters: Filters | None = None,
        *,
        limit: int = 20,
        before: tuple[int, int] | None = None,
    ) -> list[StoredPost]:
        cond = to_condition(query) if query is not None else None
        if query is not None and cond is None:
            return []
        where, params = self._filters(filters or Filters(), before)
        if cond is not None:
            sql, values = cond
            if await self._frequent(cond):
                # Walk the newest posts (date index) and test each one's vectors (a subquery
                # per row, by primary key): the page fills long before the walk gets far. As
                # `p.id IN (...)` the planner hashed every hit first: 2-5x slower for two or
                # three common words and phrases (50,000 posts, same run).
                where.append(f"(SELECT {sql} FROM post_search s WHERE s.post_id = p.id)")
            else:
                # Few hits: fetch them from the GIN indexes first (ARRAY() runs once, before
                # the posts are read), then sort those. Left to itself the planner, which
                # cannot estimate a rare word, walked the whole date index instead (70 ms on
                # 10,000 posts for a word in one of them; seconds on a million).
                where.append(f"p.id = ANY(ARRAY(SELECT post_id FROM post_search WHERE {sql}))")
            params.extend(values)
        return await self._select(where, params, limit)

    async def _frequent(self, cond: tuple[str, list[object]]) -> bool:
        row = await self.db.fetchone(
            f"SELECT count(*) FROM (SELECT 1 FROM post_search WHERE {cond[0]} LIMIT ?) AS hits",
            [*cond[1], fts_settings.DENSE_HITS],
        )
        # Read at call time, so tests can make every term "frequent".
        return row is not None and int(row[0]) >= fts_settings.DENSE_HITS

    async def _dense(self, fts: str) -> bool:
        # FTS5 needs the windowed plan for frequent terms; PostgreSQL's planner picks between
        # the GIN index and the date index itself.
        return False

    async def plain_fts(self, query: FtsNode, *, limit: int = 20) -> list[int]:
        """The benchmarks' anchor: the index alone, highest ids first, ids only."""
        cond = to_condition(query)
        if cond is None:
            return []
        rows = await self.db.fetchall(
            f"SELECT post_id FROM post_search WHERE {cond[0]} ORDER BY post_id DESC LIMIT ?",
            [*cond[1], limit],
        )
        return [int(r[0]) for r in rows]

    async def scan_like(self, patterns: list[str], *, limit: int = 20) -> list[int]:
        where = " AND ".join("p.norm LIKE ? ESCAPE '\\'" for _ in patterns) or "TRUE"
        params: list[object] = [
            "%" + p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for p in patterns
        ]
        params.append(limit)
        rows = await self.db.fetchall(
            f"SELECT p.id FROM posts p WHERE {where} ORDER BY p.date DESC, p.id DESC LIMIT ?",
            params,
        )
        return [int(r[0]) for r in rows]


class PgSourceRepo(SourceRepo):
    async def advance(self, source_id: int, message_id: int, post_ts: int | None) -> None:
        """Raise the catch-up mark; never lowers it (events may arrive out of order)."""
        await self.db.execute(
            "UPDATE sources SET last_message_id = GREATEST(last_message_id, ?),"
            " last_post_at = GREATEST(COALESCE(last_post_at, 0), COALESCE(?, 0)) WHERE id = ?",
            (message_id, post_ts, source_id),
        )


# Advisory lock space for chat leases: (OUTBOX_LEASES, person id).
OUTBOX_LEASES = 0x7777
# NOTIFY channel: a new or released alert is waiting.
OUTBOX_CHANNEL = "wirewatch_outbox"


class PgAlertRepo(AlertRepo):
    """The shared outbox. Any number of notifiers (processes) drain it: a chat is delivered by
    the one holding its lease, an advisory lock that dies with the holder's connection, so a
    killed notifier's chats go to another at once and a person's alerts keep their order. A
    notifier re-reads each alert under the lease before sending it, so an alert is sent twice
    only if its sender died between Telegram's answer and `mark_sent`. Enqueues NOTIFY the
    notifiers, at commit."""

    def _pg(self) -> PgDatabase:
        return self.db  # type: ignore[return-value]

    async def _notify(self) -> None:
        await self.db.execute(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")

    async def enqueue(self, *args: Any, **kwargs: Any) -> int | None:
        async with self.db.transaction():
            alert_id = await super().enqueue(*args, **kwargs)
            if alert_id is not None:
                await self._notify()
        return alert_id

    async def release_person(self, person_id: int) -> int:
        async with self.db.transaction():
            count = await super().release_person(person_id)
            if count:
                await self._notify()
        return count

    async def release(self, alert_ids: list[int]) -> None:
        async with self.db.transaction():
            await super().release(alert_ids)
            await self._notify()

    async def awaiting_translation(self, since: int, limit: int = 50) -> list[Alert]:
        # ->> is NULL for a missing key and for JSON null, as SQLite's json_extract is.
        rows = await self.db.fetchall(
            "SELECT a.* FROM alerts a WHERE a.kind = 'new' AND a.created_at >= ?"
            " AND (a.payload::jsonb ->> 'translate') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM alerts t WHERE t.reply_to_alert = a.id"
            "   AND t.kind = 'translation')"
            " ORDER BY a.id LIMIT ?",
            (since, limit),
        )
        return [Alert.from_row(r) for r in rows]

    async def try_lease(self, person_id: int) -> bool:
        return await self._pg().try_advisory_lock(OUTBOX_LEASES, person_id)

    async def release_lease(self, person_id: int) -> None:
        await self._pg().advisory_unlock(OUTBOX_LEASES, person_id)


class PgMediaRepo(MediaRepo):
    async def oldest(self, limit: int) -> list[MediaFile]:
        rows = await self.db.fetchall(
            "SELECT * FROM media_files WHERE removed_at IS NULL ORDER BY stored_at, seq LIMIT ?",
            (limit,),
        )
        return [_file(r) for r in rows]
