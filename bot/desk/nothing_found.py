"""Why a search found nothing, for the bot's /search and `wirewatch search`: the grammar's traps
(bot.desk.search.search_hints), a term both searched and left out, and dates or channels the
archive holds nothing for. Messages for people (bot.i18n), none when nothing explains it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.desk.search import QueryError, required_channels, search_hints, split_filters
from bot.i18n import N_, Message
from bot.matching import RuleNode, RuleSyntaxError
from bot.matching.rules import And, FromSource, Not, Word, parse_query
from storage.models import to_ts
from storage.store import Store

BOTH_WAYS_CHANNEL = N_(
    "{channel} is both searched (from:) and left out (-from:): no post can be both; drop one "
    "of them"
)
BOTH_WAYS_WORD = N_(
    "'{word}' is both searched and left out (-{word}): no post can be both; drop one of them"
)
UNTIL_BEFORE_ARCHIVE = N_(
    "until: {until} ends before the archive's first post, of {first}: nothing stored is that old"
)
UNTIL_BEFORE_CHANNEL = N_(
    "until: {until} ends before the first post of {channel} in the archive, of {first}"
)
SINCE_AFTER_ARCHIVE = N_("since: {since} starts after the archive's newest post, of {newest}")
SINCE_AFTER_CHANNEL = N_(
    "since: {since} starts after the newest post of {channel} in the archive, of {newest}"
)
NO_POSTS_CHANNEL = N_("{channel} has no posts in the archive yet")


def contradictions(node: RuleNode) -> list[Message]:
    """Terms the query both looks for and leaves out (`from:@a -from:@a`, `обмін -обмін`):
    such a query can match no post."""
    parts = node.parts if isinstance(node, And) else (node,)
    left_out = {p.part for p in parts if isinstance(p, Not)}
    out: list[Message] = []
    wanted = required_channels(node)
    if wanted:
        excluded = {p.channel for p in left_out if isinstance(p, FromSource)}
        if wanted <= excluded:
            channels = ", ".join("@" + c for c in sorted(wanted))
            out.append(Message(BOTH_WAYS_CHANNEL, {"channel": channels}))
    for part in parts:
        if isinstance(part, Word) and part in left_out:
            out.append(Message(BOTH_WAYS_WORD, {"word": part.form}))
            break
    return out


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


async def nothing_found_hints(
    store: Store,
    query: str,
    zone: ZoneInfo,
    *,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[Message]:
    """Why `query` (with the CLI's own `source`, `since`, `until`, as search_posts takes them)
    may have found nothing; run only when it did."""
    now = now or datetime.now(zone)
    hints = search_hints(query, zone, now)
    try:
        parsed = split_filters(query, zone)
        node = parse_query(parsed.text) if parsed.text else None
    except (QueryError, RuleSyntaxError):
        return hints
    if node is not None:
        hints.extend(contradictions(node))
    channels = required_channels(node) if node is not None else None
    if source:
        channels = frozenset({source.lstrip("@").lower()})
    ids: list[int] = []
    for name in sorted(channels or ()):
        found = await store.sources.by_username(name)
        if found is None:
            return hints  # search_posts has said so
        if await store.search.date_range((found.id,)) is None:
            hints.append(Message(NO_POSTS_CHANNEL, {"channel": "@" + name}))
        ids.append(found.id)
    bounds = await store.search.date_range(tuple(ids) if channels else None)
    if bounds is None:
        return hints
    first, newest = bounds
    named = {"channel": ", ".join("@" + c for c in sorted(channels))} if channels else {}
    until = parsed.until or until
    if until is not None and (to_ts(until) or 0) <= first:
        # until: takes its day in (it ends at the next midnight): the day as typed.
        typed = _day(until - timedelta(seconds=1), zone)
        first_day = _day(datetime.fromtimestamp(first, zone), zone)
        hints.append(
            Message(
                UNTIL_BEFORE_CHANNEL if channels else UNTIL_BEFORE_ARCHIVE,
                {"until": typed, "first": first_day, **named},
            )
        )
    since = parsed.since or since
    if since is not None and (to_ts(since) or 0) > newest and since <= now:
        hints.append(
            Message(
                SINCE_AFTER_CHANNEL if channels else SINCE_AFTER_ARCHIVE,
                {
                    "since": _day(since, zone),
                    "newest": datetime.fromtimestamp(newest, zone).strftime("%Y-%m-%d %H:%M"),
                    **named,
                },
            )
        )
    return hints
