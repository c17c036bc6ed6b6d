"""Every active rule at once: a key -> rules index finds the few candidates for a post, and only
their boolean parts are evaluated. Adding or removing a rule touches only its own index entries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from bot.matching.analysis import Analysis
from bot.matching.lemmas import rule_keys
from bot.matching.normalize import SENTENCE_BREAK_RE, strip_format
from bot.matching.regex import compile_regex
from bot.matching.rules import (
    And,
    Exact,
    FromSource,
    Not,
    Phrase,
    Prefix,
    Regex,
    RuleNode,
    Word,
    term_text,
)

_MAX_REGEX_HITS = 50  # spans reported per regex; the match itself needs only one


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # offsets into the original text
    end: int
    term: str  # the rule's term that matched, as the rule has it


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule_id: int
    spans: tuple[Span, ...]


# ----------------------------------------------------------------------------- compiled parts
#
# Every part answers two questions: `test` (does it match? cheap, no allocation for plain words)
# and `spans` (where? asked only once the whole rule has matched). Spans of a word or phrase are
# kept per post in `Analysis.memo`, so a word shared by many rules is located once.


class _Part(ABC):
    __slots__ = ()

    @abstractmethod
    def test(self, a: Analysis, channel: str) -> bool: ...

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:  # noqa: B027
        """Append where this part matched; called only when `test` is true. The default
        reports nothing: a negation or a channel filter has no place in the text."""

    @abstractmethod
    def anchors(self) -> list[tuple[str, str]] | None:
        """What a post must contain for this part to match (any one of them), or None."""

    def cost(self) -> int:
        """How many posts an anchor lets through, roughly: lower is more selective."""
        return 1


class _Word(_Part):
    __slots__ = ("keys", "memo_key", "term")

    def __init__(self, node: Word) -> None:
        self.keys = rule_keys(node.form)
        self.term = node.form
        self.memo_key = ("w", self.keys, self.term)

    def test(self, a: Analysis, channel: str) -> bool:
        return not self.keys.isdisjoint(a.keyset)

    def where(self, a: Analysis) -> list[int]:
        """Indices of the words of `a` that carry one of this word's keys, in order."""
        if self.keys.isdisjoint(a.keyset):
            return []
        pos = a.positions
        found: list[int] = []
        for k in self.keys:
            hit = pos.get(k)
            if hit:
                found.extend(hit)
        return sorted(set(found)) if len(self.keys) > 1 else found

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        memo = a.memo
        got = memo.get(self.memo_key)
        if got is None:
            starts, ends, term = a.starts, a.ends, self.term
            got = [Span(starts[i], ends[i], term) for i in self.where(a)]
            memo[self.memo_key] = got
        out.extend(got)

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("key", k) for k in self.keys] or None


class _Exact(_Part):
    __slots__ = ("cased", "form", "term")

    def __init__(self, node: Exact) -> None:
        self.form = node.form
        self.cased = node.cased
        self.term = term_text(node)

    def where(self, a: Analysis) -> list[int]:
        found = a.form_positions.get(self.form, [])
        if self.cased is None or not found:
            return found
        # An acronym: the word as written, not only its lower-case form (US, not "us").
        text, starts, ends, cased = a.text, a.starts, a.ends, self.cased
        return [i for i in found if strip_format(text[starts[i] : ends[i]]) == cased]

    def test(self, a: Analysis, channel: str) -> bool:
        if self.cased is None:
            return self.form in a.form_positions
        return bool(self.where(a))

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        term = self.term
        out.extend(Span(a.starts[i], a.ends[i], term) for i in self.where(a))

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("form", self.form)]


class _Prefix(_Part):
    __slots__ = ("prefix",)

    def __init__(self, node: Prefix) -> None:
        self.prefix = node.prefix

    def test(self, a: Analysis, channel: str) -> bool:
        p = self.prefix
        return any(f.startswith(p) for f in a.form_positions)

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        p = self.prefix
        hits = sorted(i for f, idx in a.form_positions.items() if f.startswith(p) for i in idx)
        out.extend(Span(a.starts[i], a.ends[i], p + "*") for i in hits)

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("pre", self.prefix[:3])]

    def cost(self) -> int:
        return 3


class _Phrase(_Part):
    __slots__ = ("memo_key", "term", "words")

    def __init__(self, node: Phrase) -> None:
        self.words = [_Word(w) for w in node.words]
        self.term = term_text(node)
        self.memo_key = ("p", tuple(w.keys for w in self.words), self.term)

    def found(self, a: Analysis) -> list[Span]:
        memo = a.memo
        cached: list[Span] | None = memo.get(self.memo_key)
        if cached is not None:
            return cached
        got: list[Span] = []
        keyset = a.keyset
        if all(not w.keys.isdisjoint(keyset) for w in self.words):
            first, rest = self.words[0], self.words[1:]
            keys, n = a.keys, len(a.keys)
            text, starts, ends = a.text, a.starts, a.ends
            for i in first.where(a):
                end = i + len(rest)
                if end >= n:
                    break
                if not all(not w.keys.isdisjoint(keys[i + 1 + j]) for j, w in enumerate(rest)):
                    continue
                # Words on either side of a sentence break are not a phrase.
                if not any(
                    SENTENCE_BREAK_RE.search(text, ends[k], starts[k + 1]) for k in range(i, end)
                ):
                    got.append(Span(starts[i], ends[end], self.term))
        memo[self.memo_key] = got
        return got

    def test(self, a: Analysis, channel: str) -> bool:
        return bool(self.found(a))

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        out.extend(self.found(a))

    def anchors(self) -> list[tuple[str, str]] | None:
        # The longest word is the likeliest to be rare.
        best = max(self.words, key=lambda w: len(w.term))
        return best.anchors()


class _Regex(_Part):
    __slots__ = ("rx", "term")

    def __init__(self, node: Regex) -> None:
        # RE2: linear in the post whatever the pattern (Python's re can take minutes).
        self.rx = compile_regex(node.pattern)
        self.term = term_text(node)

    def test(self, a: Analysis, channel: str) -> bool:
        return self.rx.search(a.text)

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        term = self.term
        out.extend(Span(s, e, term) for s, e in self.rx.spans(a.text, _MAX_REGEX_HITS))

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("all", "")]

    def cost(self) -> int:
        return 100


class _From(_Part):
    __slots__ = ("channel",)

    def __init__(self, node: FromSource) -> None:
        self.channel = node.channel

    def test(self, a: Analysis, channel: str) -> bool:
        return channel == self.channel

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("chan", self.channel)]

    def cost(self) -> int:
        return 10


class _Not(_Part):
    __slots__ = ("part",)

    def __init__(self, part: _Part) -> None:
        self.part = part

    def test(self, a: Analysis, channel: str) -> bool:
        return not self.part.test(a, channel)

    def anchors(self) -> list[tuple[str, str]] | None:
        return None

    def cost(self) -> int:
        return self.part.cost()


class _And(_Part):
    __slots__ = ("parts",)

    def __init__(self, parts: list[_Part]) -> None:
        # Cheap, selective parts first so that a failing rule fails early.
        self.parts = sorted(parts, key=lambda p: (isinstance(p, _Not), p.cost()))

    def test(self, a: Analysis, channel: str) -> bool:
        return all(p.test(a, channel) for p in self.parts)

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        for p in self.parts:
            p.spans(a, channel, out)

    def anchors(self) -> list[tuple[str, str]] | None:
        best: list[tuple[str, str]] | None = None
        best_cost = 0
        for p in self.parts:
            found = p.anchors()
            if found is not None and (best is None or p.cost() < best_cost):
                best, best_cost = found, p.cost()
        return best

    def cost(self) -> int:
        return min((p.cost() for p in self.parts if not isinstance(p, _Not)), default=100)


class _Or(_Part):
    __slots__ = ("parts",)

    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts

    def test(self, a: Analysis, channel: str) -> bool:
        return any(p.test(a, channel) for p in self.parts)

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        for p in self.parts:
            if p.test(a, channel):
                p.spans(a, channel, out)

    def anchors(self) -> list[tuple[str, str]] | None:
        out: list[tuple[str, str]] = []
        for p in self.parts:
            found = p.anchors()
            if found is None:
                return None
            out.extend(found)
        return out

    def cost(self) -> int:
        return sum(p.cost() for p in self.parts)


def _compile(node: RuleNode) -> _Part:
    if isinstance(node, Word):
        return _Word(node)
    if isinstance(node, Exact):
        return _Exact(node)
    if isinstance(node, Prefix):
        return _Prefix(node)
    if isinstance(node, Phrase):
        return _Phrase(node)
    if isinstance(node, Regex):
        return _Regex(node)
    if isinstance(node, FromSource):
        return _From(node)
    if isinstance(node, Not):
        return _Not(_compile(node.part))
    if isinstance(node, And):
        return _And([_compile(p) for p in node.parts])
    return _Or([_compile(p) for p in node.parts])


def _as_analysis(text_or_analysis: str | Analysis) -> Analysis:
    if isinstance(text_or_analysis, Analysis):
        return text_or_analysis
    return Analysis(text_or_analysis)


def _report(rule_id: int, part: _Part, a: Analysis, channel: str) -> RuleMatch:
    spans: list[Span] = []
    part.spans(a, channel, spans)
    if len(spans) > 1:
        spans = sorted(set(spans), key=_span_order)
    return RuleMatch(rule_id, tuple(spans))


def _span_order(s: Span) -> tuple[int, int, str]:
    return (s.start, s.end, s.term)


def match_rule(node: RuleNode, text_or_analysis: str | Analysis, channel: str) -> RuleMatch | None:
    """One rule against one text (rule_id 0 in the result)."""
    a = _as_analysis(text_or_analysis)
    channel = channel.lower().lstrip("@")
    part = _compile(node)
    return _report(0, part, a, channel) if part.test(a, channel) else None


# ----------------------------------------------------------------------------- the matcher


@dataclass(slots=True)
class _Entry:
    part: _Part
    channel: str | None
    anchors: list[tuple[str, str]]


class Matcher:
    """All active rules, indexed by what a post must contain for each to match."""

    def __init__(self) -> None:
        self._rules: dict[int, _Entry] = {}
        self._index: dict[str, dict[str, set[int]]] = {
            "key": {},
            "form": {},
            "pre": {},
            "chan": {},
            "all": {},
        }

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def add(self, rule_id: int, node: RuleNode, *, channel: str | None = None) -> None:
        """Add (or replace) a rule; `channel` restricts it to one source's posts."""
        if rule_id in self._rules:
            self.remove(rule_id)
        part = _compile(node)
        anchors = part.anchors()
        if anchors is None:  # parse_rule refuses these; a hand-built tree might not
            raise ValueError(f"rule {rule_id} has nothing to look for")
        chan = channel.lower().lstrip("@") if channel else None
        self._rules[rule_id] = _Entry(part, chan, anchors)
        for kind, value in anchors:
            self._index[kind].setdefault(value, set()).add(rule_id)

    def remove(self, rule_id: int) -> None:
        entry = self._rules.pop(rule_id, None)
        if entry is None:
            return
        for kind, value in entry.anchors:
            ids = self._index[kind].get(value)
            if ids is not None:
                ids.discard(rule_id)
                if not ids:
                    del self._index[kind][value]

    def clear(self) -> None:
        for rule_id in list(self._rules):
            self.remove(rule_id)

    def candidates(self, a: Analysis, channel: str) -> set[int]:
        """Rules that may match: those with an anchor the post has."""
        idx = self._index
        out: set[int] = set()
        by_key = idx["key"]
        for k in by_key.keys() & a.keyset:
            out |= by_key[k]
        by_form = idx["form"]
        if by_form:
            for f in by_form.keys() & set(a.forms):
                out |= by_form[f]
        by_pre = idx["pre"]
        if by_pre:
            for f in set(a.forms):
                found = by_pre.get(f[:3])
                if found:
                    out |= found
        hit = idx["chan"].get(channel)
        if hit:
            out |= hit
        for ids in idx["all"].values():
            out |= ids
        return out

    def match(self, text_or_analysis: str | Analysis, channel: str) -> list[RuleMatch]:
        """Every rule that matches the post, by rule id."""
        a = _as_analysis(text_or_analysis)
        channel = channel.lower().lstrip("@")
        out: list[RuleMatch] = []
        rules = self._rules
        for rule_id in sorted(self.candidates(a, channel)):
            entry = rules[rule_id]
            if entry.channel is not None and entry.channel != channel:
                continue
            if entry.part.test(a, channel):
                out.append(_report(rule_id, entry.part, a, channel))
        return out
