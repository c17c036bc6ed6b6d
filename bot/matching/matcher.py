"""Every active rule at once: a key -> rules index finds the few candidates for a post, and only
their boolean parts are evaluated. Adding or removing a rule touches only its own index entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.analysis import Analysis
from bot.matching.lemmas import rule_keys
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

_BREAK_RE = re.compile(r"[.!?;…]\s|\n")
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


Spans = list[Span] | None  # None: the part does not match; a list (maybe empty): it does


# ----------------------------------------------------------------------------- compiled parts


class _Part:
    __slots__ = ()

    def eval(self, a: Analysis, channel: str) -> Spans:
        raise NotImplementedError

    def anchors(self) -> list[tuple[str, str]] | None:
        """What a post must contain for this part to match (any one of them), or None."""
        raise NotImplementedError

    def cost(self) -> int:
        """How many posts an anchor lets through, roughly: lower is more selective."""
        return 1


class _Word(_Part):
    __slots__ = ("keys", "term")

    def __init__(self, node: Word) -> None:
        self.keys = rule_keys(node.form)
        self.term = node.form

    def where(self, a: Analysis) -> list[int]:
        if self.keys.isdisjoint(a.keyset):
            return []
        pos = a.positions
        found: list[int] = []
        for k in self.keys:
            hit = pos.get(k)
            if hit:
                found.extend(hit)
        return found

    def eval(self, a: Analysis, channel: str) -> Spans:
        found = self.where(a)
        if not found:
            return None
        return [Span(a.starts[i], a.ends[i], self.term) for i in sorted(set(found))]

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("key", k) for k in self.keys] or None


class _Exact(_Part):
    __slots__ = ("form",)

    def __init__(self, node: Exact) -> None:
        self.form = node.form

    def eval(self, a: Analysis, channel: str) -> Spans:
        hit = a.form_positions.get(self.form)
        if not hit:
            return None
        return [Span(a.starts[i], a.ends[i], "=" + self.form) for i in hit]

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("form", self.form)]


class _Prefix(_Part):
    __slots__ = ("prefix",)

    def __init__(self, node: Prefix) -> None:
        self.prefix = node.prefix

    def eval(self, a: Analysis, channel: str) -> Spans:
        p = self.prefix
        hits = [i for f, idx in a.form_positions.items() if f.startswith(p) for i in idx]
        if not hits:
            return None
        return [Span(a.starts[i], a.ends[i], p + "*") for i in sorted(hits)]

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("pre", self.prefix[:3])]

    def cost(self) -> int:
        return 3


class _Phrase(_Part):
    __slots__ = ("term", "words")

    def __init__(self, node: Phrase) -> None:
        self.words = [_Word(w) for w in node.words]
        self.term = term_text(node)

    def eval(self, a: Analysis, channel: str) -> Spans:
        first, rest = self.words[0], self.words[1:]
        keys, n = a.keys, len(a.keys)
        spans: list[Span] = []
        for i in sorted(set(first.where(a))):
            end = i + len(rest)
            if end >= n:
                break
            if all(not w.keys.isdisjoint(keys[i + 1 + j]) for j, w in enumerate(rest)):
                text, starts, ends = a.text, a.starts, a.ends
                # Words on either side of a sentence break are not a phrase.
                if not any(_BREAK_RE.search(text, ends[k], starts[k + 1]) for k in range(i, end)):
                    spans.append(Span(starts[i], ends[end], self.term))
        return spans or None

    def anchors(self) -> list[tuple[str, str]] | None:
        # The longest word is the likeliest to be rare.
        best = max(self.words, key=lambda w: len(w.term))
        return best.anchors()


class _Regex(_Part):
    __slots__ = ("rx", "term")

    def __init__(self, node: Regex) -> None:
        self.rx = re.compile(node.pattern, re.IGNORECASE)
        self.term = term_text(node)

    def eval(self, a: Analysis, channel: str) -> Spans:
        spans: list[Span] = []
        for m in self.rx.finditer(a.text):
            if m.end() > m.start():
                spans.append(Span(m.start(), m.end(), self.term))
                if len(spans) >= _MAX_REGEX_HITS:
                    break
        return spans or None

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("all", "")]

    def cost(self) -> int:
        return 100


class _From(_Part):
    __slots__ = ("channel",)

    def __init__(self, node: FromSource) -> None:
        self.channel = node.channel

    def eval(self, a: Analysis, channel: str) -> Spans:
        return [] if channel == self.channel else None

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("chan", self.channel)]

    def cost(self) -> int:
        return 10


class _Not(_Part):
    __slots__ = ("part",)

    def __init__(self, part: _Part) -> None:
        self.part = part

    def eval(self, a: Analysis, channel: str) -> Spans:
        return [] if self.part.eval(a, channel) is None else None

    def anchors(self) -> list[tuple[str, str]] | None:
        return None


class _And(_Part):
    __slots__ = ("parts",)

    def __init__(self, parts: list[_Part]) -> None:
        # Cheap, selective parts first so that a failing rule fails early.
        self.parts = sorted(parts, key=lambda p: (isinstance(p, _Not), p.cost()))

    def eval(self, a: Analysis, channel: str) -> Spans:
        out: list[Span] = []
        for p in self.parts:
            got = p.eval(a, channel)
            if got is None:
                return None
            out.extend(got)
        return out

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

    def eval(self, a: Analysis, channel: str) -> Spans:
        out: list[Span] | None = None
        for p in self.parts:
            got = p.eval(a, channel)
            if got is not None:
                out = (out or []) + got
        return out

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


def _finish(rule_id: int, spans: list[Span]) -> RuleMatch:
    return RuleMatch(rule_id, tuple(sorted(set(spans), key=lambda s: (s.start, s.end, s.term))))


def match_rule(node: RuleNode, text_or_analysis: str | Analysis, channel: str) -> RuleMatch | None:
    """One rule against one text (rule_id 0 in the result)."""
    spans = _compile(node).eval(_as_analysis(text_or_analysis), channel.lower().lstrip("@"))
    return None if spans is None else _finish(0, spans)


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

    def add_many(self, rules: Iterable[tuple[int, RuleNode, str | None]]) -> None:
        for rule_id, node, channel in rules:
            self.add(rule_id, node, channel=channel)

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
            spans = entry.part.eval(a, channel)
            if spans is not None:
                out.append(_finish(rule_id, spans))
        return out
