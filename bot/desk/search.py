"""Archive search shared by the CLI and the bot: the rule grammar plus filters.

`полонені from:@channel since:2025-12-01 until:2025-12-31 edited:yes deleted:no`

FTS narrows the candidates (every term quoted by storage, never raw user text in MATCH); each
candidate is then checked with the same matcher that drives alerts, so search and alerts agree.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.desk.fts import rule_to_fts
from bot.desk.inputs import DeskError, parse_span
from bot.desk.words import DATE_NAMES, DAY_WORDS, NO_WORDS, YES_WORDS
from bot.drafting.glossary import Glossary
from bot.i18n import N_, LocalizedError, Message
from bot.matching import (
    RuleNode,
    RuleSyntaxError,
    Span,
    match_rule,
    parse_rule,
    rule_sources,
    rule_to_json,
)
from bot.matching.rules import (
    FILTER_NAMES,
    SEARCH_ONLY_FILTERS,
    And,
    FromSource,
    Or,
    Phrase,
    Word,
    parse_query,
    to_text,
)
from bot.matching.verdict import StoredText, Verdict, compile_verdict
from storage.models import StoredPost, to_ts
from storage.search import Filters
from storage.store import Store

# since:/until:/edited:/deleted: in either alphabet (bot.matching.rules.FILTER_NAMES).
_SEARCH_FILTERS = [name for name, kind in FILTER_NAMES.items() if kind in SEARCH_ONLY_FILTERS]
_FILTER_RE = re.compile(
    # The value after a space too (`з: вчора`, as typed in a hurry), unless it is syntax.
    r"(?<!\S)(" + "|".join(sorted(_SEARCH_FILTERS, key=len, reverse=True)) + r")"
    r":(?:(\S+)|\s+(?![-()])(\S+))?",
    re.IGNORECASE,
)
SCAN_LIMIT = 5000  # candidates checked per page at most: bounds a page's latency
# Decide plain-word rules from the posts' stored keys (bot/matching/verdict.py) instead of
# re-reading every candidate; the benchmark turns it off for its reference run.
STORED_VERDICT = True


class QueryError(LocalizedError):
    """A search query an editor typed that we cannot run; the message (a msgid, bot.i18n)
    says why."""


class SearchHit:
    """A post the query matches. Its spans (offsets into the post's text, or its OCR text when
    `in_image`) are found when first asked for: a hit decided from the stored keys has not
    read its text, and only the hits a page shows need their words located."""

    __slots__ = ("_node", "_spans", "in_image", "post")

    def __init__(
        self,
        post: StoredPost,
        spans: tuple[Span, ...] | None,
        in_image: bool = False,
        *,
        node: RuleNode | None = None,
    ) -> None:
        self.post = post
        self.in_image = in_image
        self._spans = spans
        self._node = node

    @property
    def spans(self) -> tuple[Span, ...]:
        if self._spans is None:
            found = match_rule(self._node, self.text, self.post.channel) if self._node else None
            self._spans = found.spans if found is not None else ()
        return self._spans

    def __repr__(self) -> str:
        return f"SearchHit(post={self.post.id}, in_image={self.in_image})"

    @property
    def text(self) -> str:
        """The text the spans point into: the post's, or what its picture reads."""
        return self.post.ocr_text if self.in_image else self.post.text


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    cursor: tuple[int, int] | None  # pass as `before` for the next page; None = no more


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str  # what remains for the rule grammar
    since: datetime | None = None
    until: datetime | None = None
    edited: bool | None = None
    deleted: bool | None = None


_DOTTED_RE = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?")


def parse_date(
    value: str, zone: ZoneInfo, *, end: bool = False, now: datetime | None = None
) -> datetime:
    """A moment `since:`/`until:` name. A day in the newsroom's zone (`end`: the day after, as
    until: takes the day in): `2025-12-01`, `01.12.2025`, `01.12.25`, `1.12` (the latest such
    day up to today), `today`, `yesterday` (uk/ru too); an ISO datetime; or a span back from
    `now`:
    `7d`, `2w`, `12h` (since:7d = the last seven days)."""
    value = value.strip()
    now = now or datetime.now(zone)
    today = now.astimezone(zone).date()
    day: date | None = None
    try:
        dotted = _DOTTED_RE.fullmatch(value)
        if len(value) == 10 and value[4:5] == "-":
            day = date.fromisoformat(value)
        elif dotted:
            day = _dotted_day(dotted, today)
        elif value.lower() in DAY_WORDS:
            day = today - timedelta(days=DAY_WORDS[value.lower()])
        elif value[:1].isdigit() and not value.isdigit() and not any(c in value for c in "-:T"):
            return now - parse_span(value)
        else:
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    except (ValueError, OverflowError, DeskError) as exc:  # OverflowError: 9999w9999w…
        raise QueryError(BAD_DATE, value=value[:40]) from exc
    if day is None:
        raise QueryError(BAD_DATE, value=value[:40])
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone)


def _dotted_day(dotted: re.Match[str], today: date) -> date:
    """`01.11.2025`, or `1.11` as the latest such day up to `today` (28.12 typed in January: the
    past December; 29.02 in a year without one: the last year with one)."""
    day, month = int(dotted.group(1)), int(dotted.group(2))
    if dotted.group(3) is not None:
        year = int(dotted.group(3))
        # 18.11.25, as a date is written by hand: this century's.
        return date(year + 2000 if year < 100 else year, month, day)
    for year in range(today.year, today.year - 9, -1):  # a leap day comes within eight years
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    raise ValueError(f"no day {day}.{month}")


BAD_DATE = N_(
    "not a date: '{value}' (use 2025-11-01, 01.11.2025, today, yesterday, or a span back "
    "from now such as 7d or 2w)"
)


def _flag(name: str, value: str) -> bool:
    v = value.lower()
    if v in YES_WORDS:
        return True
    if v in NO_WORDS:
        return False
    raise QueryError("{name}: takes yes or no, not '{value}'", name=name, value=value[:20])


# A phrase, or a regex: a / opens one where a term can start, as in the rule parser
# (bot.matching.rules._lex); the slashes inside a word, a link pasted into from: among them,
# are the word's own.
_STRETCH_RE = re.compile(r'"[^"]*"?|(?<![^\s()"«»“”„])/(?:\\.|[^/\\])*/?')


def split_filters(query: str, zone: ZoneInfo) -> ParsedQuery:
    """Take since:/until:/edited:/deleted: out of the query (not inside quotes)."""
    kept: list[str] = []
    found: dict[str, str] = {}
    pos = 0
    # Walk quoted and unquoted stretches so that a filter word inside a phrase stays a word.
    for m in _STRETCH_RE.finditer(query):
        kept.append(_take_filters(query[pos : m.start()], found))
        kept.append(m.group(0))
        pos = m.end()
    kept.append(_take_filters(query[pos:], found))
    text = " ".join(" ".join(kept).split())
    since = parse_date(found["since"], zone) if "since" in found else None
    until = parse_date(found["until"], zone, end=True) if "until" in found else None
    if since is not None and until is not None and since >= until:  # until: is exclusive
        # Answered "No posts found." before, as if the archive held nothing in those days.
        raise QueryError(
            "since: {since} is after until: {until}",
            since=found["since"][:20],
            until=found["until"][:20],
        )
    return ParsedQuery(
        text=text,
        since=since,
        until=until,
        edited=_flag("edited", found["edited"]) if "edited" in found else None,
        deleted=_flag("deleted", found["deleted"]) if "deleted" in found else None,
    )


# The OR words are operators in capitals only (bot.matching.rules): typed in lowercase they are
# words to find, and "енергетики або кордоні" wants posts with all three.
_OR_SPELLINGS = {"or": "OR", "або": "АБО", "или": "ИЛИ"}
LOWERCASE_OR = N_(
    "'{word}' is searched as a word; to find either side, write it in capitals: {upper}"
)


def lowercase_or(query: str) -> tuple[str, str] | None:
    """(the word as typed, in capitals) of an OR word the query searches as a word, outside
    quotes; None when there is none or the query does not parse."""
    try:
        text = split_filters(query, ZoneInfo("UTC")).text
        tree = rule_to_json(parse_rule(text))
    except (QueryError, RuleSyntaxError):
        return None
    todo: list[object] = [tree]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            word = item.get("word")
            if isinstance(word, str) and word.casefold() in _OR_SPELLINGS:
                return word, _OR_SPELLINGS[word.casefold()]
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return None


# Words of dates an editor types into the query itself ("обмін вчора", "з 1 листопада"),
# searched there as words: a search that found nothing says where dates go.
_DATE_WORDS = frozenset({*DAY_WORDS, *DATE_NAMES})
DATE_WORD = N_(
    "'{word}' is searched as a word; a date goes in since: or until:, e.g. since:yesterday, "
    "since:01.11.2025 or since:7d (the last seven days)"
)
PHRASE = N_(
    '"{phrase}" in quotes finds these words next to each other, in this order (in any of '
    "their forms); without the quotes, anywhere in the post"
)
FUTURE_SINCE = N_("since: {since} is still ahead: no post is that new yet")
ALL_WORDS = N_(
    "every one of the {n} words must be in the same post; to find any of them, put OR between "
    'them, or "quote" a phrase'
)


def search_hints(query: str, zone: ZoneInfo, now: datetime | None = None) -> list[Message]:
    """Why a search that found nothing may have (messages for people, none when nothing in
    the query looks like a trap): an OR word in lowercase, a date typed as words, since: still
    ahead, a sentence whose every word must be in one post."""
    hints: list[Message] = []
    lowered = lowercase_or(query)
    if lowered is not None:
        hints.append(Message(LOWERCASE_OR, {"word": lowered[0], "upper": lowered[1]}))
    try:
        parsed = split_filters(query, zone)
        node = parse_query(parsed.text) if parsed.text else None
    except (QueryError, RuleSyntaxError):
        return hints
    if parsed.since is not None and parsed.since > (now or datetime.now(zone)):
        hints.append(Message(FUTURE_SINCE, {"since": parsed.since.date().isoformat()}))
    parts = node.parts if isinstance(node, And) else (node,)
    plain = [p for p in parts if isinstance(p, Word)]
    for part in plain:
        if part.form in _DATE_WORDS:
            hints.append(Message(DATE_WORD, {"word": part.form}))
            break
    typed = re.search(r'"([^"]+)"', parsed.text)
    if typed and any(isinstance(p, Phrase) for p in parts) and not hints:
        hints.append(Message(PHRASE, {"phrase": typed.group(1).strip()[:80]}))
    if len(plain) >= 3 and not hints:  # the hints above say which word to change
        hints.append(Message(ALL_WORDS, {"n": len(plain)}))
    return hints


_OR_IN = {"uk": "АБО", "ru": "ИЛИ"}
OTHER_SPELLINGS = N_(
    "{name} is also written {others}, which this search does not find (it finds word forms, "
    "not other alphabets): {query}"
)


_CHANNEL_WORD_RE = re.compile(r"\S*(?:@|t\.me/)\S*", re.IGNORECASE)


def spelling_hints(query: str, glossary: Glossary, lang: str = "en") -> list[Message]:
    """Names of the glossary the query looks for whose other spellings it does not find (Умєров
    finds Умеров and Умєрова, never Umerov), each with the query that finds them all when
    the query is the name alone; the glossary holds the spellings the desk uses."""
    try:
        text = split_filters(query, ZoneInfo("UTC")).text
        node = parse_query(text) if text else None
    except (QueryError, RuleSyntaxError):
        return []
    if node is None or not len(glossary):
        return []
    leaves: list[RuleNode] = []
    todo: list[RuleNode] = [node]
    while todo:  # what the query looks for (not what it leaves out)
        item = todo.pop()
        if isinstance(item, And | Or):
            todo.extend(item.parts)
        elif isinstance(item, Word | Phrase):
            leaves.append(item)
    if not leaves:
        return []  # a query that only leaves out: no spelling of it to add
    hints: list[Message] = []
    # A channel pasted as a word (@levchuk_official, a t.me link) names no one.
    for found in glossary.find(_CHANNEL_WORD_RE.sub(" ", text))[:2]:
        forms = found.entry.forms()
        # A full name ("Rustem Umerov") is found by its surname, which is listed too.
        forms = [f for f in forms if not any(o != f and o in f.split() for o in forms)]
        missing: list[RuleNode] = []
        spelled: list[str] = []
        for form in forms:
            if any(match_rule(x, form, "") for x in [*leaves, *missing]):
                continue
            try:  # as the glossary itself reads it (a quote in a name is a space)
                missing.append(parse_query('"' + form.replace('"', " ") + '"'))
            except RuleSyntaxError:
                continue
            spelled.append(form)
        if not spelled:
            continue
        quoted = [f'"{m}"' if " " in m else m for m in spelled]
        named = [x for x in leaves if any(match_rule(x, f, "") for f in forms)]
        either = f" {_OR_IN.get(lang, 'OR')} "  # the reader's own spelling of it
        if leaves == [node]:
            suggested = either.join([text, *quoted])  # the name alone: the whole query
        elif named:
            suggested = "(" + either.join([to_text(named[0]), *quoted]) + ")"
        else:
            suggested = either.join(quoted)
        hints.append(
            Message(
                OTHER_SPELLINGS,
                {
                    "name": found.entry.name_in(lang),
                    "others": ", ".join(spelled),
                    "query": suggested,
                },
            )
        )
    return hints


def required_channels(node: RuleNode) -> frozenset[str] | None:
    """The channels a post must come from to match `node`; None when any channel may do. A
    channel under NOT is one to leave out, never the one to search (`обмін -from:@a` searched
    @a alone, and found nothing)."""
    if isinstance(node, FromSource):
        return frozenset({node.channel})
    if isinstance(node, And):
        found: frozenset[str] | None = None
        for part in node.parts:
            each = required_channels(part)
            if each is not None:
                found = each if found is None else found & each
        return found
    if isinstance(node, Or):
        union: frozenset[str] = frozenset()
        for part in node.parts:
            each = required_channels(part)
            if each is None:
                return None
            union |= each
        return union
    return None


def _take_filters(chunk: str, found: dict[str, str]) -> str:
    def grab(m: re.Match[str]) -> str:
        key = FILTER_NAMES[m.group(1).lower()]
        value = m.group(2) or m.group(3)
        if not value:
            raise QueryError("{key}: needs a value", key=m.group(1))  # as typed: з:, до:
        if key in found:
            raise QueryError("{key}: given twice", key=key)
        found[key] = value
        return " "

    return _FILTER_RE.sub(grab, chunk)


def _from_stored(
    verdict: Verdict, node: RuleNode, post: StoredPost, by_word: bool
) -> tuple[bool, SearchHit | None]:
    """(decided, hit): what the post's stored keys (stem marks kept; `by_word`: word by word
    with the sentence breaks) and norm say of `node` (`verdict`: compiled from it), without
    reading its text; bot/matching/verdict.py. Not decided: the text has to be read."""
    found = verdict(StoredText(post.text, post.norm, post.lemmas, by_word=by_word), post.channel)
    if found:
        return True, SearchHit(post, None, node=node)
    if found is None:
        return False, None
    if not post.ocr_text:
        return True, None
    in_image = verdict(
        StoredText(post.ocr_text, post.ocr_norm, post.ocr_lemmas, by_word=by_word),
        post.channel,
    )
    if in_image is None:
        return False, None
    return True, SearchHit(post, None, in_image=True, node=node) if in_image else None


def _check(
    node: RuleNode, verdict: Verdict, post: StoredPost, exact_keys: bool, by_word: bool
) -> SearchHit | None:
    """The hit `post` is for `node`, or None. `exact_keys`: the post's stored keys carry their
    stem marks, so what they can decide is decided from them (`_from_stored`); `by_word`: they
    are also stored word by word, so phrases, prefixes and exact forms are too. The text is
    re-read only for what the stored keys cannot decide."""
    text_first = True
    if exact_keys:
        found, hit = _from_stored(verdict, node, post, by_word)
        if found:
            return hit
        # Not decided: by the text (the post's own words first), or, when the text's keys
        # ruled the post out, by the picture's text alone.
        text_first = (
            verdict(StoredText(post.text, post.norm, post.lemmas, by_word=by_word), post.channel)
            is None
        )
    if text_first:
        m = match_rule(node, post.text, post.channel)
        if m is not None:
            return SearchHit(post, m.spans)
    if post.ocr_text:
        # Words in the post's picture: a hit, reported as the image's, not the post's words
        # (spans are offsets into the OCR text).
        m = match_rule(node, post.ocr_text, post.channel)
        if m is not None:
            return SearchHit(post, m.spans, in_image=True)
    return None


async def search_posts(
    store: Store,
    query: str,
    *,
    zone: ZoneInfo,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    before: tuple[int, int] | None = None,
    leave_out: Collection[int] = (),
) -> SearchPage:
    """Newest first. Raises QueryError or RuleSyntaxError (both carry a message for people).

    `leave_out`: ids of posts not to return, left out by the query (not read at all)."""
    if limit < 1:
        raise QueryError("limit must be at least 1")
    parsed = split_filters(query, zone)
    node = parse_query(parsed.text) if parsed.text else None
    named = rule_sources(node) if node is not None else set()
    channels = required_channels(node) if node is not None else None
    if source:
        source = source.lstrip("@").lower()
        named.add(source)
        channels = frozenset({source}) if channels is None else channels & {source}
    ids: dict[str, int] = {}
    for name in sorted(named):
        src = await store.sources.by_username(name)
        if src is None:
            # Also when it is left out (-from:@typo leaves out nothing) or one of several.
            raise QueryError("@{channel} is not a source we follow", channel=name)
        ids[name] = src.id
    if channels is not None and not channels:
        raise QueryError(
            "a post comes from one channel: this query asks for posts of two at once; "
            "to search either, write their from: side by side or with OR"
        )
    filters = Filters(
        source_ids=tuple(sorted(ids[c] for c in channels)) if channels is not None else None,
        since=to_ts(parsed.since or since),
        until=to_ts(parsed.until or until),
        edited=parsed.edited,
        deleted=parsed.deleted,
        leave_out=tuple(sorted(set(leave_out))),
    )
    fts = rule_to_fts(node) if node is not None else None
    hits: list[SearchHit] = []
    scanned = 0
    cursor = before
    exact_from = await store.search.exact_keys_from() if STORED_VERDICT else None
    words_from = await store.search.word_keys_from() if STORED_VERDICT else None
    # Hits the walk by id already decided from their stored keys (in the database thread).
    decided: dict[int, SearchHit | None] = {}
    # Compiled here, in the event loop's thread: every rule word's keys are looked up now, so
    # the walk's test in the database thread never asks the dictionaries (words under NOT
    # included, which rule_to_fts skips).
    verdict = compile_verdict(node) if node is not None else None

    def accept(post: StoredPost) -> bool:
        """Storage's test of a hit as it walks them: only what the stored keys decide (no
        re-reading, which stays in this thread); a hit they cannot decide is kept."""
        assert node is not None and verdict is not None
        assert exact_from is not None and words_from is not None
        if post.id < exact_from:
            return True
        found, hit = _from_stored(verdict, node, post, post.id >= words_from)
        if not found:
            return True
        decided[post.id] = hit
        return hit is not None

    walk_test = accept if node is not None and STORED_VERDICT else None
    # Verifying a candidate may re-read its text (0.1-0.2 ms), so ask for little more than a
    # page first and widen only when candidates are turned down. Hits the walk tests itself
    # come back already sifted: one past the page is enough.
    batch = limit + 1 if walk_test is not None else limit + 5
    while scanned < SCAN_LIMIT:
        rows = await store.search.search(
            fts, filters, limit=batch, before=cursor, accept=walk_test
        )
        if not rows:
            return SearchPage(hits, None)
        for post in rows:
            scanned += 1
            if source and post.channel != source:
                continue
            if node is None or verdict is None:
                hits.append(SearchHit(post, ()))
            else:
                if post.id in decided:
                    hit = decided.pop(post.id)
                else:
                    hit = _check(
                        node,
                        verdict,
                        post,
                        exact_from is not None and post.id >= exact_from,
                        words_from is not None and post.id >= words_from,
                    )
                if hit is not None:
                    hits.append(hit)
            if len(hits) > limit:
                # One hit past the page proves an older page exists; without it a page that
                # happened to be exactly full offered "Older" and led to an empty one.
                last = hits[limit - 1].post
                return SearchPage(hits[:limit], (to_ts(last.date) or 0, last.id))
        if len(rows) < batch:
            return SearchPage(hits, None)
        cursor = (to_ts(rows[-1].date) or 0, rows[-1].id)  # the scan position
        batch = min(batch * 4, 1000)
    # The scan budget ran out: more may exist beyond the scan position.
    return SearchPage(hits, cursor)


__all__ = [
    "ParsedQuery",
    "QueryError",
    "RuleSyntaxError",
    "SearchHit",
    "SearchPage",
    "parse_date",
    "search_hints",
    "search_posts",
    "spelling_hints",
    "split_filters",
]
