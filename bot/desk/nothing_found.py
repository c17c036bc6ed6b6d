"""Why a search found nothing, for the bot's /search and `wirewatch search`: the grammar's traps
(bot.desk.search.search_hints), a term both searched and left out, and dates or channels the
archive holds nothing for; and, found or not, a filter typed wrong or a channel pasted as a
word. Messages for people (bot.i18n), none when nothing explains it."""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.desk.search import (
    QueryError,
    parse_date,
    required_channels,
    search_hints,
    split_filters,
)
from bot.desk.words import NO_WORDS, YES_WORDS
from bot.drafting.glossary import Entry, Glossary, GlossaryError, make_entry
from bot.i18n import N_, Message
from bot.matching import RuleNode, RuleSyntaxError
from bot.matching.rules import FILTER_NAMES, And, FromSource, Not, Word, parse_query
from storage.models import to_ts
from storage.records import SourceError, normalize_username
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


FILTER_TYPO = N_("'{typed}' is searched as words, not as a filter; write it {suggested}")
CHANNEL_AS_WORD = N_(
    "'{typed}' is searched as words; to search the posts of @{channel}, write from:@{channel}"
)
CHANNEL_LEFT_OUT_AS_WORD = N_(
    "'{typed}' is searched as words; to leave out the posts of @{channel}, write -from:@{channel}"
)

# A filter as typed in a hurry: its name misspelt (frm:, sinse:), a ; for the colon (from;@a),
# or no colon before the channel (від@a). Names of one or two letters (з:, с:, до:) are left
# out of the guessing: too many words are that close to them.
_GLUED_RE = re.compile(r"(?P<name>[^\W\d_]{2,12})(?P<sep>[:;]|(?=@))(?P<value>\S+)")
_GUESSED = [name for name in FILTER_NAMES if len(name) >= 3]
_QUOTED_RE = re.compile(r'"[^"]*"?')


def _filter_typo(token: str, zone: ZoneInfo) -> str | None:
    """The filter `token` was meant to be (`from:@a` for `frm:@a`), or None."""
    m = _GLUED_RE.fullmatch(token)
    if m is None:
        return None
    name, sep, value = m.group("name"), m.group("sep"), m.group("value")
    known = name.casefold() in FILTER_NAMES
    if known and sep == ":":
        return None  # a filter as it should be
    if not known:
        close = difflib.get_close_matches(name.casefold(), _GUESSED, n=1, cutoff=0.75)
        if not close:
            return None
        name = close[0]
    # Only what that filter takes: "Sincere:yes" is no since: mistyped.
    kind = FILTER_NAMES[name.casefold()]
    if kind == "from":
        fits = value.startswith("@") or "t.me/" in value.casefold()
    elif kind in ("since", "until"):
        try:
            parse_date(value, zone)
            fits = True
        except QueryError:
            fits = False
    else:
        fits = value.casefold() in YES_WORDS or value.casefold() in NO_WORDS
    return f"{name}:{value}" if fits else None


def typed_hints(query: str, zone: ZoneInfo) -> list[Message]:
    """What in the query's words looks like a filter typed wrong, or a channel pasted as a
    word (@channel, a t.me link): each is searched as words, and finds nothing, or, left out,
    leaves nothing out. For the first page, whether or not it found posts."""
    try:
        text = split_filters(query, zone).text
    except QueryError:
        return []
    hints: list[Message] = []
    after_from = False
    for raw in _QUOTED_RE.sub(" ", text).split():
        token = raw.lstrip("(").rstrip(")")
        minus = "-" if token.startswith("-") else ""
        token = token.lstrip("-")
        if after_from:
            after_from = False
            continue  # `від: @a`: the filter's value after a space, which the parser takes
        if token.endswith(":") and FILTER_NAMES.get(token[:-1].casefold()) == "from":
            after_from = True
            continue
        suggested = _filter_typo(token, zone)
        if suggested is not None:
            typed = minus + token
            hints.append(Message(FILTER_TYPO, {"typed": typed, "suggested": minus + suggested}))
            continue
        if token.startswith("@") or "t.me/" in token.casefold():
            if ":" in token.split("//")[-1].split("/")[0]:
                continue  # a filter (from:https://t.me/a): the parser's
            try:
                channel = normalize_username(token)
            except SourceError:
                continue
            msgid = CHANNEL_LEFT_OUT_AS_WORD if minus else CHANNEL_AS_WORD
            hints.append(Message(msgid, {"typed": minus + token, "channel": channel}))
    return hints[:2]


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


_desk_names: tuple[Glossary | None, object, Glossary] | None = None


async def desk_names(store: Store, glossary: Glossary | None) -> Glossary:
    """The glossary with the people of the channels we follow (a source's person, in uk, en
    and ru, as the sources file names them): `Levchuk` is then told it does not find
    Левчук, as a glossary name is. Built again only when either changes."""
    global _desk_names
    people = tuple(
        names
        for names in (
            tuple((k, v) for k, v in s.person.items() if v)  # uk, en, ru: uk spelt first
            for s in await store.sources.list()
        )
        if len(names) > 1
    )
    cached = _desk_names
    if cached is not None and cached[0] is glossary and cached[1] == people:
        return cached[2]
    entries: list[Entry] = list(glossary.entries) if glossary is not None else []
    known = {name for e in entries for name in e.names.values()}
    for names in people:
        if known.isdisjoint(v for _, v in names):
            try:
                entries.append(make_entry("person", dict(names)))
            except GlossaryError:
                continue
            known.update(v for _, v in names)
    try:
        built = Glossary(entries)
    except GlossaryError:
        built = glossary or Glossary()
    _desk_names = (glossary, people, built)
    return built
