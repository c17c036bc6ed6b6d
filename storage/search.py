"""Full-text search over posts with FTS5.

User text never reaches `MATCH` as typed: callers build a small expression tree, every term is
double-quoted here, and the expression is bound as a parameter.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from storage.db import Database
from storage.fts_query import PREFIX_INDEX, AllOf, FtsNode, Term, to_fts
from storage.models import StoredPost, ts

# Narrow a long prefix's hits by its whole text (below); benchmarks turn it off for their
# reference run.
NARROW_PREFIXES = True


def _needles(node: FtsNode) -> list[str]:
    """Prefixes longer than the FTS5 prefix index that every hit of `node` must hold."""
    if isinstance(node, Term):
        return [node.text] if node.prefix and len(node.text) > PREFIX_INDEX else []
    if isinstance(node, AllOf):
        return [n for part in node.parts for n in _needles(part)]
    return []  # a phrase's words are whole terms; an alternative needs none of its branches


@dataclass(frozen=True, slots=True)
class Filters:
    source_id: int | None = None
    source_ids: tuple[int, ...] | None = None  # posts of any of these channels
    since: int | None = None  # unix seconds, inclusive
    until: int | None = None  # unix seconds, exclusive
    edited: bool | None = None
    deleted: bool | None = None
    # Posts the caller has no use for, left out by the query itself rather than read and
    # dropped: an update's thread, which its background skips (bot.ingest.origins).
    leave_out: tuple[int, ...] = ()


# Newest first, the fast plan (_newest_first): FTS5 hits read block by block (32 ids each),
# blocks newest first by the date bounds of post_blocks (migration 0021).
ORDER_BLOCK_BITS = 5  # ids per block: 32, as in migration 0021
FIRST_BATCH = 5  # hits read beyond the page in the first step
# Opening an FTS5 range costs about what decoding this many more hits and dropping them costs
# (bench/import_search.py --backfill, 100,000 posts: ~90 µs against ~0.37 µs): two runs of
# blocks closer than that are read as one range.
RANGE_HITS = 256
SCAN_BUDGET = 4000  # hits whose dates are read before the plans by date below take over
BLOCK_BUDGET = 8000  # blocks looked at before they do (a cursor or `until` far in the past)

_SELECT = "SELECT p.*, s.username FROM posts p JOIN sources s ON s.id = p.source_id"
# The walk's rows: StoredPost's fields in their order, read as plain tuples (_post). A page
# builds ~21 posts; through sqlite3.Row and from_row each cost twice as much (1M posts, bench/
# import_search.py), about a sixth of a page's time beyond the plain FTS5 anchor.
_POST_FIELDS = (
    "p.id, p.source_id, s.username, p.message_id, p.date, p.text, p.media, p.grouped_id,"
    " p.forward_from, p.forward_link, p.reply_to, p.links, p.edit_date, p.deleted_at, p.version,"
    " p.ocr_text, p.lemmas, p.ocr_lemmas, p.norm, p.ocr_norm, p.link_id"
)
_SELECT_POSTS = f"SELECT {_POST_FIELDS} FROM posts p JOIN sources s ON s.id = p.source_id"


def _post(v: tuple[Any, ...]) -> StoredPost:
    """A row of _SELECT_POSTS as a StoredPost (what StoredPost.from_row gives for it)."""
    date = ts(v[4])
    assert date is not None
    raw_links = v[11]
    return StoredPost(
        v[0], v[1], v[2], v[3], date, v[5], v[6], v[7], v[8], v[9], v[10],
        tuple(json.loads(raw_links)) if raw_links else (),
        ts(v[12]), ts(v[13]), v[14], v[15], v[16], v[17], v[18], v[19], v[20],
    )  # fmt: skip


# The plan by date, for archives whose ids are far out of date order (a big old archive
# imported after live posts). FTS hits from which it walks the date index instead of sorting.
DENSE_HITS = 5000
WINDOW_START = 4000  # newest posts searched first for a frequent term
WINDOW_GROWTH = 8


class SearchRepo:
    # The first post id trusted when a database has no mark: on SQLite one older than the
    # marks (cannot happen once migrated): none.
    UNMARKED = 1 << 62

    def __init__(self, db: Database) -> None:
        self.db = db
        self._marks_found: tuple[int, int] | None = None

    async def exact_keys_from(self) -> int:
        """The first post id whose stored keys carry their stem marks (migration 0009); it
        never changes, so it is read once."""
        return (await self._marks())[0]

    async def word_keys_from(self) -> int:
        """The first post id whose stored keys are kept word by word with the sentence breaks
        (migration 0012); read once."""
        return (await self._marks())[1]

    async def _marks(self) -> tuple[int, int]:
        if self._marks_found is None:
            rows = await self.db.fetchall(
                "SELECT key, value FROM state WHERE key IN ('exact_keys_from', 'word_keys_from')"
            )
            found = {str(k): int(v) for k, v in rows}
            self._marks_found = (
                found.get("exact_keys_from", self.UNMARKED),
                found.get("word_keys_from", self.UNMARKED),
            )
        return self._marks_found

    async def date_range(
        self, source_ids: tuple[int, ...] | None = None
    ) -> tuple[int, int] | None:
        """(oldest, newest) date, unix seconds, of the archive's posts, or of these channels'
        posts; None when there are none. Each bound one index lookup (posts_by_date,
        posts_by_source_date): MIN and MAX asked in one SELECT would scan."""
        bounds: list[tuple[int, int]] = []
        for where, params in (
            [("", ())]
            if source_ids is None
            else [(" WHERE source_id = ?", (sid,)) for sid in source_ids]
        ):
            row = await self.db.fetchone(
                f"SELECT (SELECT MIN(date) FROM posts{where}),"
                f" (SELECT MAX(date) FROM posts{where})",
                (*params, *params),
            )
            if row is not None and row[0] is not None:
                bounds.append((int(row[0]), int(row[1])))
        if not bounds:
            return None
        return min(b[0] for b in bounds), max(b[1] for b in bounds)

    async def _dense(self, fts: str) -> bool:
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? LIMIT ?)",
            (fts, DENSE_HITS),
        )
        return row is not None and int(row[0]) >= DENSE_HITS

    async def search(
        self,
        query: FtsNode | None,
        filters: Filters | None = None,
        *,
        limit: int = 20,
        before: tuple[int, int] | None = None,
        accept: Callable[[StoredPost], bool] | None = None,
    ) -> list[StoredPost]:
        """Newest first. `before` = (date, id) of the last row of the previous page (keyset).

        `accept`: the caller's own test of a hit (FTS5 answers a superset of what a rule
        means). The walk by id applies it as it reads the hits, in the database thread, so a
        page of a query whose hits it mostly turns down still costs one round trip; the other
        plans may return posts it would turn down: callers test what they get."""
        f = filters or Filters()
        fts = to_fts(query) if query is not None else None
        if query is not None and fts is None:
            return []
        where, params = self._filters(f, before)
        needles = _needles(query) if query is not None and NARROW_PREFIXES else []
        if needles:
            # A prefix longer than the index: FTS5 answers the indexed 4 characters (a superset
            # that may be mostly other words); a hit must also hold the whole prefix in its
            # normalised text, where every word is written out. Posts stored before migration
            # 0012 may have a norm from an older normalisation: not narrowed.
            words_from = (await self._marks())[1]
            for needle in needles:
                where.append("(p.id < ? OR instr(p.norm, ?) > 0 OR instr(p.ocr_norm, ?) > 0)")
                params.extend([words_from, needle, needle])
        if fts is not None:
            newest = [before[0]] if before is not None else []
            if f.until is not None:
                newest.append(f.until - 1)
            found = await self.db.run(
                partial(
                    _newest_first,
                    fts=fts,
                    where=where,
                    params=params,
                    limit=limit,
                    since=f.since,
                    upper=min(newest) if newest else None,
                    accept=accept,
                )
            )
            if found is not None:
                return found
        if fts is not None and await self._dense(fts):
            # A frequent term: search a window of the newest posts first. Posts are stored
            # roughly in date order, so the window's ids start at some id R and FTS5 decodes
            # only the part of each doclist above R (0.5 ms instead of 50 ms for a word in 10%
            # of 1M posts). Widen the window until the page is full; correct whatever the order.
            window = WINDOW_START
            while True:
                bounds = await self._window(f, before, window)
                if bounds is None:
                    break  # the window covers every post: the plain query below is the answer
                low_id, low_date, nth_id = bounds
                rows = await self._select(
                    [
                        *where,
                        "p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
                        " AND rowid >= ?)",
                        "(p.date > ? OR (p.date = ? AND p.id >= ?))",
                    ],
                    [*params, fts, low_id, low_date, low_date, nth_id],
                    limit,
                )
                if len(rows) >= limit:
                    return rows
                window *= WINDOW_GROWTH
            return await self._select(
                [*where, "+p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)"],
                [*params, fts],
                limit,
            )
        if fts is not None:
            # A rare term: fetch its few hits by id and sort them.
            where.append("p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(fts)
        return await self._select(where, params, limit)

    @staticmethod
    def _filters(
        f: Filters, before: tuple[int, int] | None, *, alias: str = "p.", window: bool = False
    ) -> tuple[list[str], list[object]]:
        """WHERE conditions for the filters. `window` keeps only those that bound the newest-
        first walk (source, until, the page cursor): the others are checked on the hits."""
        where: list[str] = []
        params: list[object] = []
        if f.source_id is not None:
            where.append(f"{alias}source_id = ?")
            params.append(f.source_id)
        if f.source_ids is not None:
            # No channel at all: no post (a caller that asks so has found the query cannot match).
            marks = ",".join("?" * len(f.source_ids)) or "NULL"
            where.append(f"{alias}source_id IN ({marks})")
            params.extend(f.source_ids)
        if f.since is not None and not window:
            where.append(f"{alias}date >= ?")
            params.append(f.since)
        if f.until is not None:
            where.append(f"{alias}date < ?")
            params.append(f.until)
        if f.edited is not None and not window:
            where.append(f"{alias}version > 1" if f.edited else f"{alias}version = 1")
        if f.deleted is not None and not window:
            where.append(
                f"{alias}deleted_at IS NOT NULL" if f.deleted else f"{alias}deleted_at IS NULL"
            )
        if f.leave_out and not window:
            where.append(f"{alias}id NOT IN ({','.join('?' * len(f.leave_out))})")
            params.extend(f.leave_out)
        if before is not None:
            where.append(f"({alias}date < ? OR ({alias}date = ? AND {alias}id < ?))")
            params.extend([before[0], before[0], before[1]])
        return where, params

    async def _window(
        self, f: Filters, before: tuple[int, int] | None, size: int
    ) -> tuple[int, int, int] | None:
        """(lowest id, oldest date, id of the oldest) among the newest `size` posts that the
        source, until and paging filters allow; None if fewer than `size` posts are left."""
        where, params = self._filters(f, before, alias="", window=True)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        nth = await self.db.fetchone(
            f"SELECT date, id FROM posts{cond} ORDER BY date DESC, id DESC LIMIT 1 OFFSET ?",
            [*params, size - 1],
        )
        if nth is None:
            return None
        low = await self.db.fetchone(
            f"SELECT MIN(id) FROM (SELECT id FROM posts{cond}"
            " ORDER BY date DESC, id DESC LIMIT ?)",
            [*params, size],
        )
        assert low is not None
        return int(low[0]), int(nth[0]), int(nth[1])

    async def _select(
        self, where: list[str], params: list[object], limit: int
    ) -> list[StoredPost]:
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY p.date DESC, p.id DESC LIMIT ?"
        return [StoredPost.from_row(r) for r in await self.db.fetchall(sql, [*params, limit])]

    async def plain_fts(self, query: FtsNode, *, limit: int = 20) -> list[int]:
        """The anchor search benchmarks compare against: FTS5 alone, `MATCH ... ORDER BY rowid
        DESC LIMIT n`, ids only (newest by id, not by date; no filters, no rows)."""
        fts = to_fts(query)
        if fts is None:
            return []
        rows = await self.db.fetchall(
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (fts, limit),
        )
        return [int(r[0]) for r in rows]

    async def scan_like(self, patterns: list[str], *, limit: int = 20) -> list[int]:
        """The naive search benchmarks compare against: `norm LIKE '%p%'` for every pattern
        (already normalised), newest first. Not for the bot: it reads every row."""
        where = " AND ".join("p.norm LIKE ? ESCAPE '\\'" for _ in patterns) or "1"
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


def _newest_first(
    conn: sqlite3.Connection,
    *,
    fts: str,
    where: list[str],
    params: list[object],
    limit: int,
    since: int | None,
    upper: int | None,
    accept: Callable[[StoredPost], bool] | None = None,
) -> list[StoredPost] | None:
    """The first `limit` posts matching `fts` and `where` (and `accept`), newest first (date,
    then id), or None when the walk would read more than SCAN_BUDGET hits or BLOCK_BUDGET
    blocks (the plans by date answer then). `upper`: no post dated after it passes `where`
    (the page cursor's date, the last second before `until`).

    Runs in the database thread, all steps in one round trip. First the newest ids (one plain
    FTS5 query, what the anchor costs); a term with fewer hits is answered. Then the blocks of
    32 ids below them (post_blocks, migration 0021), newest `max_date` first, in growing groups,
    each group's hits read from FTS5 by id range and their dates from the
    posts. Whatever order the ids were stored in, the walk stops at the first block whose
    newest post is older than the page's last (of the same date it may hold a higher id, which
    sorts first: it is read); where ids follow dates, that is the first block it looks at.
    With `accept`, candidates are tested newest first, their rows read only as far as the page
    needs.
    """
    if SCAN_BUDGET <= 0:
        return None  # the benchmarks' reference: the plans by date alone
    cond = "".join(f" AND {w}" for w in where)
    rows = conn.cursor()
    rows.row_factory = None  # plain tuples: _post reads them by position
    found: list[tuple[int, int]] = []  # (date, id) of hits that pass `where`, newest first
    tested: dict[int, StoredPost | None] = {}  # accept's verdicts, with the rows it read
    read = 0

    def add(ids: list[int], after: tuple[int, int] | None = None) -> bool:
        """Read the hits' dates into `found`, but for those that sort after `after` (the
        page's last so far: they can never be on it); whether any was added."""
        size = len(found)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for r in conn.execute(
                f"SELECT p.date, p.id FROM posts p WHERE p.id IN ({marks}){cond}",
                [*part, *params],
            ):
                hit = (int(r[0]), int(r[1]))
                if after is None or hit > after:
                    found.append(hit)
        found.sort(reverse=True)
        return len(found) > size

    def last() -> tuple[int, int] | None:
        """The page's last (date, id) once a page is found (what follows it is dropped)."""
        if accept is None:
            if len(found) < limit:
                return None
            del found[limit:]
            return found[-1]
        kept = 0
        for i, (_, pid) in enumerate(found):
            if pid not in tested:
                # The next untested candidates: as many as the page still needs, more by the
                # share turned down so far.
                passed = sum(1 for t in tested.values() if t is not None)
                need = (limit - kept) * len(tested) // passed if passed else limit - kept
                want = [j for _, j in found[i : i + min(need, 1000)] if j not in tested]
                marks = ",".join("?" * len(want))
                for v in rows.execute(f"{_SELECT_POSTS} WHERE p.id IN ({marks})", want):
                    post = _post(v)
                    tested[v[0]] = post if accept(post) else None
            if tested.get(pid) is not None:
                kept += 1
                if kept == limit:
                    del found[i + 1 :]
                    return found[i]
        return None

    def hits(group: list[int], gap: int, below: int) -> list[int] | None:
        """The hits under id `below` in `group`'s blocks, or None past SCAN_BUDGET of them in
        all: one FTS5 range per run of blocks, read ascending (FTS5 reads a range ascending
        for a fraction of what it costs descending). Runs less than `gap` blocks apart are
        read as one range whose hits between them SQLite drops as FTS5 decodes them."""
        nonlocal read
        runs: list[list[int]] = []  # [first block, last block, the group's blocks in it...]
        for b in sorted(group):
            if runs and b - runs[-1][1] <= gap:
                runs[-1][1] = b
                runs[-1].append(b)
            else:
                runs.append([b, b, b])
        out: list[int] = []
        for first, final, *members in runs:
            sql = (
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? AND rowid >= ? AND rowid < ?"
            )
            args: list[object] = [
                fts,
                first << ORDER_BLOCK_BITS,
                min((final + 1) << ORDER_BLOCK_BITS, below),
            ]
            if len(members) <= final - first:
                # An expression of rowid, so SQLite tests it on each hit FTS5 returns
                # rather than handing it to FTS5.
                sql += f" AND (rowid >> {ORDER_BLOCK_BITS}) IN ({','.join('?' * len(members))})"
                args += members
            out += [
                int(r[0])
                for r in conn.execute(
                    f"{sql} ORDER BY rowid LIMIT ?", [*args, SCAN_BUDGET - read - len(out) + 1]
                )
            ]
            if read + len(out) > SCAN_BUDGET:
                return None
        read += len(out)
        return out

    try:
        # The newest ids first: where ids follow dates, they are the page.
        batch = 2 * limit if accept is not None else limit + FIRST_BATCH
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                (fts, batch),
            )
        ]
        low = ids[-1] if len(ids) == batch else 0  # hits at `low` and above are all read
        if accept is None or not ids:
            add(ids)
        else:
            # Their rows newest id first, each tested as it is read, up to a page of kept
            # ones: where ids follow dates, that is the page, and the rest is never read.
            kept = 0
            marks = ",".join("?" * len(ids))
            for v in rows.execute(
                f"{_SELECT_POSTS} WHERE p.id IN ({marks}){cond} ORDER BY p.id DESC",
                [*ids, *params],
            ):
                post = _post(v)
                found.append((v[4], v[0]))
                tested[v[0]] = post if accept(post) else None
                kept += tested[v[0]] is not None
                if kept >= limit and v[0] != ids[-1]:
                    low = v[0]  # SQLite reads rows as asked: the rest stay unread
                    break
            found.sort(reverse=True)
        end = last()
        if low:
            # The blocks below, newest first: where ids follow dates, the first one is already
            # older than the page and the walk ends there.
            block = 1 << ORDER_BLOCK_BITS
            density = len(ids) / (ids[0] - low + 1)  # hits per id, among the newest
            size = max(2, int(2 * (limit + FIRST_BATCH) / (density * block)) + 1)
            gap = max(1, int(RANGE_HITS / (density * block)))
            widest = max(size, int(8 * (limit + FIRST_BATCH) / (density * block)) + 1)
            sql = "SELECT block, min_date, max_date FROM post_blocks WHERE block < ?"
            args: list[object] = [low >> ORDER_BLOCK_BITS]
            if since is not None:
                sql += " AND max_date >= ?"  # older blocks hold nothing `since` allows
                args.append(since)
            # Low's own block holds hits already read (low and above): its posts below low
            # are bounded by their own dates, read from the posts (at most 31 rows), not by
            # the block's, which where ids follow dates is about the page's own last date.
            floor = (low >> ORDER_BLOCK_BITS) << ORDER_BLOCK_BITS
            own = conn.execute(
                "SELECT min(date), max(date) FROM posts WHERE id >= ? AND id < ?", (floor, low)
            ).fetchone()
            blocks: Iterator[tuple[int, int, int]] = conn.execute(
                f"{sql} ORDER BY max_date DESC, block DESC", args
            )
            if own is not None and own[1] is not None:
                first = [(low >> ORDER_BLOCK_BITS, int(own[0]), int(own[1]))]
                blocks = heapq.merge(first, blocks, key=lambda r: (r[2], r[0]), reverse=True)
            group: dict[int, int] = {}  # block: its newest date
            scanned = 0

            def take() -> bool:
                """Read the group's hits; False past the budget. Their dates are read a
                page or two at a time, newest blocks first, and not at all for the hits of
                blocks older than the page by then."""
                nonlocal end, size
                got = hits(list(group), gap, low)
                if got is None:
                    return False
                got.sort(key=lambda i: (group[i >> ORDER_BLOCK_BITS], i), reverse=True)
                step = 2 * limit
                for k in range(0, len(got), step):
                    if end is not None and group[got[k] >> ORDER_BLOCK_BITS] < end[0]:
                        break
                    if add(got[k : k + step], end):
                        end = last()
                group.clear()
                # Wider groups, fewer FTS5 ranges to open: fourfold where hits are sparse,
                # else up to what should hold a few pages of hits.
                size = size * 4 if len(got) < limit else min(size * 2, widest)
                return True

            for number, min_date, max_date in blocks:
                if end is not None and max_date < end[0]:
                    break  # this block and every one after it hold only older posts
                scanned += 1
                if scanned > BLOCK_BUDGET:
                    return None
                if upper is not None and min_date > upper:
                    continue  # every post in it is newer than any the filters allow
                group[number] = max_date
                if len(group) >= size and not take():
                    return None
            if group and not take():
                return None
        if accept is not None:
            return [t for _, pid in found if (t := tested.get(pid)) is not None][:limit]
        if not found:
            return []
        top = found[:limit]
        marks = ",".join("?" * len(top))
        return [
            _post(v)
            for v in rows.execute(
                f"{_SELECT_POSTS} WHERE p.id IN ({marks}) ORDER BY p.date DESC, p.id DESC",
                [i for _, i in top],
            )
        ]
    finally:
        rows.close()  # a read left half done must not hold its read transaction open
