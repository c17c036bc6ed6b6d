"""What we know about a forwarded post's origin: its source (for attribution) and, when the
original is stored too, when the original was posted (the time a journalist cites)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.desk.search import QueryError, search_posts
from bot.drafting.alert import Kind, compose_alert
from bot.drafting.background import Background, Earlier
from bot.drafting.draft import DraftOptions, origin_of
from bot.matching import RuleSyntaxError, Span, match_rule, rule_from_json
from storage.models import Rule, Source, StoredPost, to_ts
from storage.records import SourceError, parse_permalink
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OriginInfo:
    source: Source | None = None
    date: datetime | None = None


async def lookup_origin(store: Store, post: StoredPost) -> OriginInfo:
    origin = origin_of(post)
    if not origin.forwarded:
        return OriginInfo()
    source = await store.sources.by_username(origin.username) if origin.username else None
    date = None
    if post.forward_link:
        try:
            username, message_id = parse_permalink(post.forward_link)
        except SourceError:
            username = ""
        if username:
            original = await store.posts.get_by_link(username, message_id)
            date = original.date if original is not None else None
    return OriginInfo(source, date)


async def compose_with_origin(
    store: Store,
    kind: Kind,
    post: StoredPost,
    source: Source | None,
    options: DraftOptions,
    **alert: Any,
) -> dict[str, Any]:
    """compose_alert with what the store knows of a forward's origin, dated against now."""
    origin = await lookup_origin(store, post)
    known = replace(
        options, origin_source=origin.source, origin_date=origin.date, now=datetime.now(UTC)
    )
    return compose_alert(kind, post, source, known, **alert)


@dataclass(frozen=True, slots=True)
class AlertContext:
    """Which rule an alert about a post fired on and where it matches the post's current text,
    so "Full text", /post and `wirewatch draft` quote what the alert quoted."""

    spans: tuple[Span, ...] = ()
    rule: Rule | None = None


async def alert_context(store: Store, post: StoredPost, person_id: int | None) -> AlertContext:
    if person_id is None:
        return AlertContext()
    alert = await store.alerts.original_for(post.id, person_id)
    if alert is None:
        return AlertContext()
    rule = await store.rules.get(alert.rule_id) if alert.rule_id is not None else None
    if rule is not None:
        try:
            match = match_rule(rule_from_json(rule.compiled), post.text, post.channel)
        except (ValueError, KeyError, TypeError):
            match = None
        if match is not None:
            return AlertContext(match.spans, rule)
    if alert.spans is not None and alert.version == post.version:
        # The rule is gone or no longer matches; the spans stored with the alert still point
        # into this text.
        return AlertContext(tuple(Span(a, b, t) for a, b, t in alert.spans), rule)
    return AlertContext((), rule)


async def best_rule_context(store: Store, post: StoredPost) -> AlertContext:
    """The rule an alert about `post` would fire on for the desk: the highest-priority active
    desk rule that matches it (a personal rule when no desk rule does), and where it matches."""
    best: tuple[tuple[int, int, int], AlertContext] | None = None
    for rule in await store.rules.list(active_only=True):
        try:
            match = match_rule(rule_from_json(rule.compiled), post.text, post.channel)
        except (ValueError, KeyError, TypeError):
            continue
        if match is None:
            continue
        rank = (int(rule.owner_id is None), rule.priority, -rule.id)
        if best is None or rank > best[0]:
            best = (rank, AlertContext(match.spans, rule))
    return best[1] if best is not None else AlertContext()


async def earlier_posts(
    store: Store,
    post: StoredPost,
    query: str | None,
    *,
    limit: int = 3,
    leave_out: Collection[str] = (),
    leave_out_ids: Collection[int] = (),
) -> Background:
    """Up to `limit` stored posts older than `post` that match `query` (the rule's), any
    source, newest first: the background a story adds ("Earlier, on December 11, …"), with
    how many more the same search found beyond them (no search of its own: `at_least` when
    there were more still).

    A forward stands for its original: it is credited to the origin, and an original is
    listed once however many channels forwarded it (as the original itself when stored), and
    never when `post` is that original or a forward of it.

    `leave_out`: links of posts the reader has above this one already (a follow-up's thread:
    their permalinks and their originals'); they are neither listed nor counted.
    `leave_out_ids`: those posts themselves (the thread's), which the search leaves out in
    its query, so that however long the thread, the background reads about one page of the
    size it needs and never the thread's posts. What the links alone leave out (another
    channel's forward of a post in the thread, the original of one it forwards) is read and
    skipped: the search reads on past it, a page at a time, to fill `limit`, at most as many
    more pages as `leave_out` could fill."""
    if not query or limit < 1:
        return Background()
    told = set(leave_out)
    skip = frozenset(leave_out_ids) - {post.id}
    seen = {origin_of(post).link}
    out: list[Earlier] = []
    more = 0
    sources: dict[int, Source | None] = {}  # a story's background is mostly one channel's

    async def source_of(hit: StoredPost) -> Source | None:
        if hit.source_id not in sources:
            sources[hit.source_id] = await store.sources.get(hit.source_id)
        return sources[hit.source_id]

    size = 2 * limit + 2  # forwards of one original collapse into one line
    before: tuple[int, int] | None = (to_ts(post.date) or 0, post.id)
    pages = 1 + -(-len(told) // size)
    while before is not None and pages > 0:
        pages -= 1
        try:
            page = await search_posts(
                store, query, zone=ZoneInfo("UTC"), limit=size, before=before, leave_out=skip
            )
        except (QueryError, RuleSyntaxError) as exc:
            log.info("no background for post %s: %s", post.id, exc)
            return Background()
        for hit in page.hits:
            if hit.post.id == post.id or hit.post.deleted_at is not None:
                continue
            origin = origin_of(hit.post)
            if hit.post.permalink in told or origin.link in told:
                continue
            if origin.link in seen:
                if not origin.forwarded:
                    # The original itself, after a forward of it: it takes the forward's place.
                    at = next(
                        (k for k, e in enumerate(out) if origin_of(e.post).link == origin.link),
                        None,
                    )
                    if at is not None:
                        source = await source_of(hit.post)
                        out[at] = Earlier(hit.post, source, hit.spans)
                continue
            seen.add(origin.link)
            if len(out) == limit:
                more += 1  # counted, not drafted: "…and 4 earlier posts"
                continue
            source = await source_of(hit.post)
            info = await lookup_origin(store, hit.post)
            out.append(Earlier(hit.post, source, hit.spans, info.source, info.date))
        before = page.cursor
        if len(out) == limit:
            break
    return Background(tuple(out), more, at_least=before is not None)


async def alerted_about_origin(store: Store, post: StoredPost) -> set[int]:
    """People already alerted about the post this one forwards: officials forward each
    other all day, and the same quote with the same permalink again is noise."""
    if not post.forward_link:
        return set()
    try:
        username, message_id = parse_permalink(post.forward_link)
    except SourceError:
        return set()
    origin_src = await store.sources.by_username(username)
    if origin_src is None:
        return set()
    origin = await store.posts.get(origin_src.id, message_id)
    if origin is None:
        return set()
    return {a.person_id for a in await store.alerts.originals(origin.id)}
