"""One rule against one post: the rule's tree compiled into parts that answer whether they
match (`test`) and where (`spans`). `match_rule` walks the whole tree; the many-rules
`Matcher` (matcher.py) decides most rules without it and uses these parts for the rest and for
the spans of what an alert shows.
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


class RuleMatch:
    """A rule that matched a post, and where (`spans`). The spans of a match found by
    `Matcher.match` are worked out on first use: at a large desk a post matches a hundred rules
    and an alert shows where one or two of them matched."""

    __slots__ = ("_analysis", "_channel", "_part", "_spans", "rule_id")

    def __init__(
        self,
        rule_id: int,
        spans: tuple[Span, ...] | None,
        part: Part | None = None,
        analysis: Analysis | None = None,
        channel: str = "",
    ) -> None:
        """`spans` None: found when first asked for, from `part` on `analysis`."""
        self.rule_id = rule_id
        self._spans = spans
        self._part = part
        self._analysis = analysis
        self._channel = channel

    @property
    def spans(self) -> tuple[Span, ...]:
        if self._spans is None:
            assert self._part is not None and self._analysis is not None
            self._spans = _spans_of(self._part, self._analysis, self._channel)
            self._part = self._analysis = None  # the post's analysis is no longer held
        return self._spans

    @property
    def spans_found(self) -> bool:
        """Whether `spans` has been worked out (tests check that matching alone does not)."""
        return self._spans is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleMatch):
            return NotImplemented
        return self.rule_id == other.rule_id and self.spans == other.spans

    def __hash__(self) -> int:
        return hash((self.rule_id, self.spans))

    def __repr__(self) -> str:
        return f"RuleMatch(rule_id={self.rule_id!r}, spans={self.spans!r})"


# ----------------------------------------------------------------------------- compiled parts
#
# Every part answers two questions: `test` (does it match? cheap, no allocation for plain words)
# and `spans` (where? asked only once the whole rule has matched). Spans of a word or phrase are
# kept per post in `Analysis.memo`, so a word shared by many rules is located once.


class Part(ABC):
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


class _Word(Part):
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
        memo = a.memo
        found: list[int] | None = memo.get(self.keys)
        if found is None:
            found = memo[self.keys] = a.carrying(self.keys)
        return found

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


class _Exact(Part):
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
            return self.form in a.formset
        return bool(self.where(a))

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        term = self.term
        out.extend(Span(a.starts[i], a.ends[i], term) for i in self.where(a))

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("form", self.form)]


class _Prefix(Part):
    __slots__ = ("prefix",)

    def __init__(self, node: Prefix) -> None:
        self.prefix = node.prefix

    def test(self, a: Analysis, channel: str) -> bool:
        p = self.prefix
        return any(f.startswith(p) for f in a.formset)

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        p = self.prefix
        hits = sorted(i for f, idx in a.form_positions.items() if f.startswith(p) for i in idx)
        out.extend(Span(a.starts[i], a.ends[i], p + "*") for i in hits)

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("pre", self.prefix[:3])]

    def cost(self) -> int:
        return 3


class _Phrase(Part):
    __slots__ = ("memo_key", "term", "words")

    def __init__(self, node: Phrase) -> None:
        self.words = [_Word(w) for w in node.words]
        self.term = term_text(node)
        self.memo_key = ("p", tuple(w.keys for w in self.words), self.term)

    def at(self, a: Analysis) -> list[int]:
        """Indices of the words of `a` where the phrase starts. Words only: where they are in
        the text is needed for spans, not to know whether the phrase is there."""
        memo = a.memo
        cached: list[int] | None = memo.get(self.memo_key)
        if cached is not None:
            return cached
        got: list[int] = []
        keyset = a.keyset
        if all(not w.keys.isdisjoint(keyset) for w in self.words):
            first, rest = self.words[0], self.words[1:]
            keys, n, gaps = a.keys, len(a.keys), a.gaps
            for i in first.where(a):
                end = i + len(rest)
                if end >= n:
                    break
                if not all(not w.keys.isdisjoint(keys[i + 1 + j]) for j, w in enumerate(rest)):
                    continue
                # Words on either side of a sentence break are not a phrase (gaps[k + 1] is
                # the text between words k and k + 1).
                if not any(SENTENCE_BREAK_RE.search(gaps[k + 1]) for k in range(i, end)):
                    got.append(i)
        memo[self.memo_key] = got
        return got

    def found(self, a: Analysis) -> list[Span]:
        last = len(self.words) - 1
        starts, ends, term = a.starts, a.ends, self.term
        return [Span(starts[i], ends[i + last], term) for i in self.at(a)]

    def test(self, a: Analysis, channel: str) -> bool:
        return bool(self.at(a))

    def spans(self, a: Analysis, channel: str, out: list[Span]) -> None:
        out.extend(self.found(a))

    def anchors(self) -> list[tuple[str, str]] | None:
        # The longest word is the likeliest to be rare.
        best = max(self.words, key=lambda w: len(w.term))
        return best.anchors()


class _Regex(Part):
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


class _From(Part):
    __slots__ = ("channel",)

    def __init__(self, node: FromSource) -> None:
        self.channel = node.channel

    def test(self, a: Analysis, channel: str) -> bool:
        return channel == self.channel

    def anchors(self) -> list[tuple[str, str]] | None:
        return [("chan", self.channel)]

    def cost(self) -> int:
        return 10


class _Not(Part):
    __slots__ = ("part",)

    def __init__(self, part: Part) -> None:
        self.part = part

    def test(self, a: Analysis, channel: str) -> bool:
        return not self.part.test(a, channel)

    def anchors(self) -> list[tuple[str, str]] | None:
        return None

    def cost(self) -> int:
        return self.part.cost()


class _And(Part):
    __slots__ = ("parts",)

    def __init__(self, parts: list[Part]) -> None:
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


class _Or(Part):
    __slots__ = ("parts",)

    def __init__(self, parts: list[Part]) -> None:
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


def compile_part(node: RuleNode) -> Part:
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
        return _Not(compile_part(node.part))
    if isinstance(node, And):
        return _And([compile_part(p) for p in node.parts])
    return _Or([compile_part(p) for p in node.parts])


def as_analysis(text_or_analysis: str | Analysis) -> Analysis:
    if isinstance(text_or_analysis, Analysis):
        return text_or_analysis
    return Analysis(text_or_analysis)


def _spans_of(part: Part, a: Analysis, channel: str) -> tuple[Span, ...]:
    spans: list[Span] = []
    part.spans(a, channel, spans)
    if len(spans) > 1:
        spans = sorted(set(spans), key=_span_order)
    return tuple(spans)


def _span_order(s: Span) -> tuple[int, int, str]:
    return (s.start, s.end, s.term)


def match_rule(node: RuleNode, text_or_analysis: str | Analysis, channel: str) -> RuleMatch | None:
    """One rule against one text (rule_id 0 in the result)."""
    a = as_analysis(text_or_analysis)
    channel = channel.lower().lstrip("@")
    part = compile_part(node)
    return RuleMatch(0, _spans_of(part, a, channel)) if part.test(a, channel) else None
