"""The repository methods whose SQL only SQLite speaks, in PostgreSQL's words.

Everything else the SQLite repositories do runs here as written (see `db.py`); the parity
test in tests/storage runs the same repository tests on both back ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from typing import Any

from storage import search as fts_settings
from storage.alerts import NOT_GATED as _NOT_GATED
from storage.alerts import AlertRepo
from storage.db import Database, now
from storage.fts_query import PREFIX_INDEX, AnyOf, FtsNode, Phrase, Term
from storage.media import MediaFile, MediaRepo, _file
from storage.models import Alert, StoredPost
from storage.search import Filters, SearchRepo
from storage.sources import SourceRepo

# unicode61's tokens: runs of letters and digits ("_" separates), as the index sees them.
_TOKEN_RE = re.compile(r"[^\W_]+")
_COLUMN = {"norm": "fts_norm", "lemmas": "fts_lemmas"}


def _lexeme(word: str, *, prefix: bool = False) -> str:
    quoted = "'" + word.lower().replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if prefix else "")


def _chain(words: list[str], *, prefix_last: bool = False, op: str = " <-> ") -> str | None:
    tokens = [t for w in words for t in _TOKEN_RE.findall(w)]
    if not tokens:
        return None
    parts = [_lexeme(t, prefix=prefix_last and i == len(tokens) - 1) for i, t in enumerate(tokens)]
    return parts[0] if len(parts) == 1 else op.join(parts)


def to_condition(node: FtsNode) -> tuple[str, list[object]] | None:
    """A condition on `post_search` (SQL with `?` marks, and its parameters) matching what
    the node means (storage/fts_query.py): a term of several tokens is a phrase (FTS5, without
    positions, asks a superset), a prefix is cut to the same indexed length, norm and lemmas are
    separate vectors (each with its text read from pictures). None when it matches nothing."""
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else [w for w in node.words if w]
        prefix = isinstance(node, Term) and node.prefix
        if prefix:
            words = [words[0][:PREFIX_INDEX]]
        tsq = _chain(words, prefix_last=prefix) if any(words) else None
        if tsq is None:
            return None
        column = _COLUMN[node.column]
        if "<->" not in tsq:
            return f"{column} @@ CAST(? AS tsquery)", [tsq]
        # A post too long for word positions (migration 0020) has its words only: there a
        # phrase is its words anywhere, a superset as FTS5's, which callers check.
        anywhere = _chain(words, prefix_last=prefix, op=" & ")
        return (
            f"({column} @@ CAST(? AS tsquery)"
            f" OR (no_positions AND {column} @@ CAST(? AS tsquery)))",
            [tsq, anywhere],
        )
    if isinstance(node, AnyOf):
        # A branch without a condition matches nothing: the others decide (as to_fts has it).
        parts = [p for p in (to_condition(x) for x in node.parts) if p]
        if not parts:
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
        accept: Callable[[StoredPost], bool] | None = None,  # a hint the walk by id uses
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

    # A database without the stored-keys marks holds no post older than them (PostgreSQL
    # migration 0021 sets them where posts were stored before it; migrate-db copies the SQLite
    # archive's own): every post's stored keys are trusted.
    UNMARKED = 0

    async def _frequent(self, cond: tuple[str, list[object]]) -> bool:
        # Read at call time, so tests can make every term "frequent".
        dense = fts_settings.DENSE_HITS
        # The planner's estimate first (its statistics of the vectors' lexemes; about a
        # millisecond): counting the hits read up to `dense` rows, 170-370 ms for a common
        # word in 1,000,000 posts, more than the search itself. Only an estimate near the
        # threshold (phrases: the planner takes their words as independent) is counted.
        plan = await self.db.fetchone(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM post_search WHERE {cond[0]}", cond[1]
        )
        if plan is not None:
            estimate = float(json.loads(plan[0])[0]["Plan"]["Plan Rows"])
            if estimate >= 4 * dense:
                return True
            if estimate * 4 <= dense:
                return False
        row = await self.db.fetchone(
            f"SELECT count(*) FROM (SELECT 1 FROM post_search WHERE {cond[0]} LIMIT ?) AS hits",
            [*cond[1], dense],
        )
        return row is not None and int(row[0]) >= dense

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
    async def hold(self, source_id: int) -> None:
        """The channel's row locked to the caller's commit: a deletion waits for another
        process storing that channel's posts, so it finds a post stored meanwhile (it found
        nothing and was dropped, the post left up)."""
        await self.db.fetchone("SELECT id FROM sources WHERE id = ? FOR UPDATE", (source_id,))

    async def advance(self, source_id: int, message_id: int, post_ts: int | None) -> None:
        """Raise the catch-up mark; never lowers it (events may arrive out of order)."""
        await self.db.execute(
            "UPDATE sources SET last_message_id = GREATEST(last_message_id, ?),"
            " last_post_at = GREATEST(COALESCE(last_post_at, 0), COALESCE(?, 0)) WHERE id = ?",
            (message_id, post_ts, source_id),
        )


# NOTIFY channel: a new or released alert is waiting.
OUTBOX_CHANNEL = "wirewatch_outbox"
# Seconds a chat stays claimed without renewal: a killed notifier's chats go to another after
# this long. The notifier renews its chats' claims every third of it while it works on them.
CLAIM_TTL = 30.0

# Nobody else holds the chat (never claimed, given back, claimed by us, or run out).
_FREE = "(c.claimed_by IS NULL OR c.claimed_by = ? OR c.claim_until <= clock_timestamp())"


class PgAlertRepo(AlertRepo):
    """The shared outbox. Any number of notifiers (processes) drain it, each chat (person) by
    one notifier at a time: `due` claims chats in a short transaction (`FOR UPDATE SKIP
    LOCKED` on their `outbox_chats` rows, which it marks `claimed_by` this notifier until
    `claim_until`) and commits; the notifier then sends outside any transaction, re-claiming
    (`try_lease`) and re-reading each alert just before it goes out, marks it sent, and gives
    the chat back. A killed notifier's chats are claimable again once their claims run out,
    so an alert is sent twice only if its sender died between Telegram's answer and
    `mark_sent`, and a chat's alerts never overtake each other. Enqueues NOTIFY the notifiers,
    at commit."""

    claim_ttl: float | None = CLAIM_TTL

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        # Who holds a claim: unique per process and per start, so a restarted notifier does
        # not mistake its dead predecessor's claims for its own.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

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

    async def set_drafted(
        self,
        drafted: Sequence[tuple[Alert, dict[str, Any], bool]],
        failed: Sequence[tuple[Alert, str]] = (),
    ) -> None:
        async with self.db.transaction():
            await super().set_drafted(drafted, failed)
            if drafted:
                await self._notify()

    async def release(self, alert_ids: list[int]) -> None:
        async with self.db.transaction():
            await super().release(alert_ids)
            await self._notify()

    async def due(
        self, *, at: int | None = None, limit: int = 200, after_id: int = 0
    ) -> list[Alert]:
        """Claim the chats with alerts due that no other notifier holds (at most `limit`),
        and return their due alerts, oldest first, with the same per-chat gate as SQLite's.

        `after_id` reads only newer alerts of chats this notifier already held; a chat it
        has just claimed comes with all its due alerts, or a newer alert could go out before
        an older one another notifier had left behind."""
        at = now() if at is None else at
        ttl = self.claim_ttl or CLAIM_TTL
        async with self.db.transaction() as conn:
            # Rows for chats never claimed before, in key order so that two notifiers adding
            # the same chats cannot deadlock.
            await conn.execute(
                "INSERT INTO outbox_chats (person_id) SELECT DISTINCT a.person_id FROM alerts a"
                " WHERE a.status = 'pending' AND NOT EXISTS"
                " (SELECT 1 FROM outbox_chats c WHERE c.person_id = a.person_id)"
                " ORDER BY a.person_id ON CONFLICT DO NOTHING"
            )
            # SKIP LOCKED passes over chats another notifier is claiming right now; a chat it
            # claimed and committed meanwhile is re-checked against _FREE on its new row.
            claimed = await (
                await conn.execute(
                    "WITH picked AS (SELECT c.person_id,"
                    "  (c.claimed_by IS NOT DISTINCT FROM ?"
                    "   AND c.claim_until > clock_timestamp()) AS held"
                    f" FROM outbox_chats c WHERE {_FREE}"
                    "  AND EXISTS (SELECT 1 FROM alerts a WHERE a.person_id = c.person_id"
                    "   AND a.status = 'pending' AND a.next_attempt_at <= ? AND a.id > ?"
                    f"   AND {_NOT_GATED})"
                    " ORDER BY c.person_id LIMIT ? FOR UPDATE OF c SKIP LOCKED)"
                    " UPDATE outbox_chats c SET claimed_by = ?,"
                    "  claim_until = clock_timestamp() + make_interval(secs => CAST(? AS float8))"
                    " FROM picked WHERE c.person_id = picked.person_id"
                    " RETURNING c.person_id, picked.held",
                    (self.owner, self.owner, at, after_id, at, limit, self.owner, ttl),
                )
            ).fetchall()
            if not claimed:
                return []
            mine = [int(r[0]) for r in claimed]
            fresh = [int(r[0]) for r in claimed if not r[1]]
            rows = await (
                await conn.execute(
                    "SELECT a.* FROM alerts a WHERE a.status = 'pending'"
                    " AND a.next_attempt_at <= ? AND a.person_id = ANY(CAST(? AS bigint[]))"
                    " AND (a.id > ? OR a.person_id = ANY(CAST(? AS bigint[])))"
                    f" AND {_NOT_GATED} ORDER BY a.id LIMIT ?",
                    (at, mine, after_id, fresh, at, limit),
                )
            ).fetchall()
        return [Alert.from_row(r) for r in rows]

    async def next_due_at(self) -> int | None:
        """When this notifier may next have something to send: the earliest due time of a
        pending alert, or, for a chat another notifier holds, when that claim runs out."""
        row = await self.db.fetchone(
            "SELECT MIN(CASE WHEN c.claimed_by IS NOT NULL AND c.claimed_by <> ?"
            "  AND c.claim_until > clock_timestamp()"
            "  THEN GREATEST(a.next_attempt_at, CEIL(EXTRACT(EPOCH FROM c.claim_until))::bigint)"
            "  ELSE a.next_attempt_at END)"
            " FROM alerts a LEFT JOIN outbox_chats c ON c.person_id = a.person_id"
            " WHERE a.status = 'pending'",
            (self.owner,),
        )
        return int(row[0]) if row and row[0] is not None else None

    async def try_lease(self, person_id: int) -> bool:
        """Claim (or renew the claim on) one chat; False while another notifier holds it.
        Called before every alert goes out, so a notifier whose claim ran out (it stalled
        longer than the claim lasts) stops instead of racing the chat's new holder."""
        ttl = self.claim_ttl or CLAIM_TTL
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO outbox_chats (person_id) VALUES (?) ON CONFLICT DO NOTHING",
                (person_id,),
            )
            row = await (
                await conn.execute(
                    "UPDATE outbox_chats SET claimed_by = ?,"
                    " claim_until = clock_timestamp() + make_interval(secs => CAST(? AS float8))"
                    " WHERE person_id = (SELECT c.person_id FROM outbox_chats c"
                    f"  WHERE c.person_id = ? AND {_FREE} FOR UPDATE SKIP LOCKED)"
                    " RETURNING person_id",
                    (self.owner, ttl, person_id, self.owner),
                )
            ).fetchone()
        return row is not None

    async def renew_leases(self, person_ids: list[int]) -> None:
        """Push back the claims this notifier still holds on these chats (a heartbeat)."""
        if person_ids:
            await self.db.execute(
                "UPDATE outbox_chats SET"
                " claim_until = clock_timestamp() + make_interval(secs => CAST(? AS float8))"
                " WHERE claimed_by = ? AND claim_until > clock_timestamp()"
                " AND person_id = ANY(CAST(? AS bigint[]))",
                (self.claim_ttl or CLAIM_TTL, self.owner, person_ids),
            )

    async def release_lease(self, person_id: int) -> None:
        """Give the chat back; if alerts are still due there (this notifier is stopping),
        wake the others rather than leave them until their next look."""
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute(
                    "WITH r AS (UPDATE outbox_chats SET claimed_by = NULL, claim_until = NULL"
                    " WHERE person_id = ? AND claimed_by = ? RETURNING person_id)"
                    " SELECT EXISTS (SELECT 1 FROM r JOIN alerts a ON a.person_id = r.person_id"
                    " WHERE a.status = 'pending' AND a.next_attempt_at <= ?)",
                    (person_id, self.owner, now()),
                )
            ).fetchone()
            if row is not None and row[0]:
                await self._notify()

    async def awaiting_translation(self, since: int, limit: int = 50) -> list[Alert]:
        # ->> is NULL for a missing key and for JSON null, as SQLite's json_extract is.
        rows = await self.db.fetchall(
            "SELECT a.* FROM alerts a WHERE a.kind = 'new' AND a.created_at >= ?"
            " AND (a.payload::jsonb ->> 'translate') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM alerts t WHERE t.reply_to_alert = a.id"
            "   AND t.kind = 'translation')"
            " ORDER BY a.created_at, a.id LIMIT ?",
            (since, limit),
        )
        return [Alert.from_row(r) for r in rows]


class PgMediaRepo(MediaRepo):
    async def oldest(self, limit: int) -> list[MediaFile]:
        rows = await self.db.fetchall(
            "SELECT * FROM media_files WHERE removed_at IS NULL ORDER BY stored_at, seq LIMIT ?",
            (limit,),
        )
        return [_file(r) for r in rows]
