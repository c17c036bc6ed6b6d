"""The rule language editors type, parsed into a small tree that is stored as JSON.

    обмін полоненими                   words: all of them, in any grammatical form
    "гуманітарний трек"                a phrase: these words next to each other, any form
    Умєров OR Umerov                   either (also АБО, ИЛИ); AND (ТА, І, И) is implied
    Умєров -Туреччина, NOT Туреччина   without (also НЕ)
    (a OR b) c                         grouping
    from:@channel                      only posts of that channel (also від:, от:); several
                                       from: mean any of them (a post has one channel)
    =полонених                         exactly this form
    мобіліз*                           any word starting with it (3+ letters)
    US, NATO                           an all-capitals Latin word of 2-5 letters: that acronym,
                                       written in capitals (not "us")
    /F-1[56]/                          a regular expression over the original text (ignoring case),
                                       run by RE2, which takes time linear in the post

A rule that does not parse raises RuleSyntaxError, whose message says where and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.matching.errors import (
    RuleSyntaxError as RuleSyntaxError,  # re-exported: the grammar's error
)
from bot.matching.normalize import normalize_word, words
from bot.matching.regex import compile_regex

MAX_RULE_LENGTH = 1000
MAX_TERMS = 64
MAX_DEPTH = 16
# An acronym rule word: US, NATO, EU (not "us", "nato" written in lower case).
_ACRONYM_RE = re.compile(r"[A-Z]{2,5}")

# Filter names in either alphabet (rules and /search take the same), to the code's name.
FILTER_NAMES = {
    **dict.fromkeys(("from", "від", "от"), "from"),
    **dict.fromkeys(("since", "з", "с"), "since"),
    **dict.fromkeys(("until", "до"), "until"),
    **dict.fromkeys(("edited", "змінено", "изменено"), "edited"),
    **dict.fromkeys(("deleted", "видалено", "удалено"), "deleted"),
}
# Filters /search understands that mean nothing to a rule watching new posts.
SEARCH_ONLY_FILTERS = ("since", "until", "edited", "deleted")
_OR_WORDS = frozenset({"OR", "АБО", "ИЛИ", "|"})
_AND_WORDS = frozenset({"AND", "ТА", "І", "И", "&"})
_NOT_WORDS = frozenset({"NOT", "НЕ"})
_CHANNEL_RE = re.compile(r"[a-z][a-z0-9_]{2,31}")
# A channel's link as people paste it: the web preview's /s/, a post's link (the channel is
# meant), what "Copy link" appends (?single, ?comment=N, a #fragment).
_LINK_RE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?(?P<name>[^/?#\s]*)"
    r"(?:/\d*)?/?(?:\?[^\s#]*)?(?:#\S*)?",
    re.IGNORECASE,
)


# ----------------------------------------------------------------------------- nodes


@dataclass(frozen=True, slots=True)
class Word:
    """Any form of this word's lemmas. `form` is normalised."""

    form: str


@dataclass(frozen=True, slots=True)
class Exact:
    """This form only; with `cased` (an acronym such as US), also written exactly so."""

    form: str
    cased: str | None = None


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str


@dataclass(frozen=True, slots=True)
class FromSource:
    channel: str


@dataclass(frozen=True, slots=True)
class Not:
    part: RuleNode


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[RuleNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[RuleNode, ...]


Term = Word | Exact | Prefix | Phrase | Regex
RuleNode = Word | Exact | Prefix | Phrase | Regex | FromSource | Not | And | Or


def term_text(node: Term) -> str:
    """How a term is shown to people (match reports, highlights)."""
    if isinstance(node, Word):
        return node.form
    if isinstance(node, Exact):
        return node.cased or "=" + node.form
    if isinstance(node, Prefix):
        return node.prefix + "*"
    if isinstance(node, Phrase):
        return " ".join(w.form for w in node.words)
    return "/" + node.pattern + "/"


def to_text(node: RuleNode) -> str:
    """The rule written back in the rule language (normalised)."""
    if isinstance(node, Phrase):
        return '"' + term_text(node) + '"'
    if isinstance(node, Word | Exact | Prefix | Regex):
        return term_text(node)
    if isinstance(node, FromSource):
        return "from:@" + node.channel
    if isinstance(node, Not):
        return "-" + _grouped(node.part)
    if isinstance(node, And):
        return " ".join(_grouped(p) for p in node.parts)
    return " OR ".join(_grouped(p) for p in node.parts)


def _grouped(node: RuleNode) -> str:
    text = to_text(node)
    return f"({text})" if isinstance(node, And | Or) else text


# ----------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "(" ")" "or" "and" "not" "-" "phrase" "regex" "atom"
    text: str
    pos: int


def _lex(query: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Tok(ch, ch, i))
            i += 1
        elif ch in '"«“„':
            close = {"«": "»", "“": "”", "„": "“"}.get(ch, '"')
            end = query.find(close, i + 1)
            if end < 0 and close != '"':
                end = query.find('"', i + 1)
            if end < 0:
                raise RuleSyntaxError("unclosed quote at character {pos}", i, pos=i)
            out.append(_Tok("phrase", query[i + 1 : end], i))
            i = end + 1
        elif ch == "/" and (not out or out[-1].kind != "atom" or _separated(query, i)):
            end = _regex_end(query, i)
            out.append(_Tok("regex", query[i + 1 : end], i))
            i = end + 1
        elif ch in "-—–" and i + 1 < n and not query[i + 1].isspace():
            out.append(_Tok("-", ch, i))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"«“„':
                j += 1
            text = query[i:j]
            kind = "atom"
            if text in _OR_WORDS:
                kind = "or"
            elif text in _AND_WORDS:
                kind = "and"
            elif text in _NOT_WORDS:
                kind = "not"
            out.append(_Tok(kind, text, i))
            i = j
    return out


def _separated(query: str, i: int) -> bool:
    return i == 0 or query[i - 1].isspace() or query[i - 1] in "()"


def _regex_end(query: str, start: int) -> int:
    i = start + 1
    while i < len(query):
        if query[i] == "\\":
            i += 2
            continue
        if query[i] == "/":
            return i
        i += 1
    raise RuleSyntaxError(
        "regular expression not closed with / (opened at character {pos})", start, pos=start
    )


# ----------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.i = 0
        self.terms = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> RuleNode:
        if not self.toks:
            raise RuleSyntaxError("the rule is empty: type at least one word", 0)
        node = self.or_expr(0)
        tok = self.peek()
        if tok is not None:
            if tok.kind == ")":
                raise RuleSyntaxError(
                    "unbalanced parenthesis at character {pos}", tok.pos, pos=tok.pos
                )
            raise RuleSyntaxError(
                "unexpected '{word}' at character {pos}", tok.pos, word=tok.text, pos=tok.pos
            )
        return node

    def or_expr(self, depth: int) -> RuleNode:
        parts = [self.and_expr(depth)]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "or", "and"):
                raise RuleSyntaxError(
                    "{word} needs a term after it at character {pos}",
                    tok.pos,
                    word=tok.text,
                    pos=tok.pos,
                )
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self, depth: int) -> RuleNode:
        parts: list[RuleNode] = []
        while (tok := self.peek()) is not None and tok.kind not in (")", "or"):
            if tok.kind == "and":
                if not parts:
                    raise RuleSyntaxError(
                        "{word} needs a term before it at character {pos}",
                        tok.pos,
                        word=tok.text,
                        pos=tok.pos,
                    )
                self.i += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in (")", "or", "and"):
                    raise RuleSyntaxError(
                        "{word} needs a term after it at character {pos}",
                        tok.pos,
                        word=tok.text,
                        pos=tok.pos,
                    )
                continue
            parts.append(self.unary(depth))
        if not parts:
            tok = self.peek()
            if tok is None:
                pos = len(self.query)
                raise RuleSyntaxError("a term is missing at character {pos}", pos, pos=pos)
            if tok.kind == "or":
                raise RuleSyntaxError(
                    "{word} needs a term before it at character {pos}",
                    tok.pos,
                    word=tok.text,
                    pos=tok.pos,
                )
            raise RuleSyntaxError("empty parentheses at character {pos}", tok.pos, pos=tok.pos)
        return _all_of(parts)

    def unary(self, depth: int) -> RuleNode:
        tok = self.peek()
        assert tok is not None
        if tok.kind in ("-", "not"):
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "or", "and"):
                raise RuleSyntaxError(
                    "{word} needs a term after it at character {pos}",
                    tok.pos,
                    word=tok.text,
                    pos=tok.pos,
                )
            if nxt.kind in ("-", "not"):
                raise RuleSyntaxError("double negation at character {pos}", nxt.pos, pos=nxt.pos)
            return Not(self.unary(depth))
        return self.primary(depth)

    def primary(self, depth: int) -> RuleNode:
        tok = self.peek()
        assert tok is not None
        self.i += 1
        if tok.kind == "(":
            if depth >= MAX_DEPTH:
                raise RuleSyntaxError(
                    "too many nested parentheses at character {pos}", tok.pos, pos=tok.pos
                )
            nxt = self.peek()
            if nxt is None:
                raise RuleSyntaxError(
                    "unbalanced parenthesis at character {pos}", tok.pos, pos=tok.pos
                )
            if nxt.kind == ")":
                raise RuleSyntaxError("empty parentheses at character {pos}", tok.pos, pos=tok.pos)
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind != ")":
                raise RuleSyntaxError(
                    "unbalanced parenthesis at character {pos}", tok.pos, pos=tok.pos
                )
            self.i += 1
            return node
        if tok.kind == ")":
            raise RuleSyntaxError(
                "unbalanced parenthesis at character {pos}", tok.pos, pos=tok.pos
            )
        self.count(tok)
        if tok.kind == "phrase":
            return self.phrase(tok)
        if tok.kind == "regex":
            return _regex(tok.text, tok.pos)
        return self.atom(tok)

    def count(self, tok: _Tok) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise RuleSyntaxError(
                "too many terms (more than {n}) at character {pos}",
                tok.pos,
                n=MAX_TERMS,
                pos=tok.pos,
            )

    def phrase(self, tok: _Tok) -> RuleNode:
        found = words(tok.text)
        if not found:
            raise RuleSyntaxError("empty phrase at character {pos}", tok.pos, pos=tok.pos)
        if len(found) == 1:
            return Word(found[0])
        return Phrase(tuple(Word(w) for w in found))

    def atom(self, tok: _Tok) -> RuleNode:
        text, pos = tok.text, tok.pos
        name, colon, rest = text.partition(":")
        name = name.lower()
        kind = FILTER_NAMES.get(name) if colon else None
        if kind == "from":
            nxt = self.peek()
            if not rest and nxt is not None and nxt.kind == "atom" and _channel_like(nxt.text):
                # `від: @a`, a space after the colon as typed in a hurry (search forgives it
                # for its own filters): it was refused as "from: needs a channel". Only a
                # value that names a channel by itself is taken, so `from: обмін` stays an
                # error, never a channel called "обмін".
                self.i += 1
                rest = nxt.text
            return _source(rest, pos, typed=text[: len(name)])
        if kind in SEARCH_ONLY_FILTERS:
            raise RuleSyntaxError(
                "{name}: is a search filter, not part of a rule (a rule watches new posts as they "
                "arrive); use it with /search, or leave it out, at character {pos}",
                pos,
                name=name,
                pos=pos,
            )
        if text.startswith("="):
            found = words(text[1:])
            if not found:
                raise RuleSyntaxError("= needs a word after it at character {pos}", pos, pos=pos)
            if len(found) > 1:
                raise RuleSyntaxError(
                    "= takes one word; quote a phrase instead at character {pos}", pos, pos=pos
                )
            return Exact(found[0])
        if text.endswith("*"):
            stem = text.rstrip("*")
            found = words(stem)
            if len(found) != 1 or normalize_word(stem) != found[0]:
                raise RuleSyntaxError(
                    "a prefix must be one word followed by * at character {pos}", pos, pos=pos
                )
            if len(found[0]) < 3:
                raise RuleSyntaxError(
                    "a prefix needs at least 3 letters at character {pos}", pos, pos=pos
                )
            return Prefix(found[0])
        if "*" in text:
            star = pos + text.index("*")
            raise RuleSyntaxError(
                "* is allowed only at the end of a word at character {pos}", star, pos=star
            )
        if _ACRONYM_RE.fullmatch(text):
            return Exact(text.lower(), cased=text)
        found = words(text)
        if not found and text.strip("-—–") == "":
            raise RuleSyntaxError(
                "put - right before the word to leave out (-word) at character {pos}", pos, pos=pos
            )
        if not found:
            raise RuleSyntaxError(
                "'{word}' has no letters or digits at character {pos}", pos, word=text, pos=pos
            )
        if len(found) == 1:
            return Word(found[0])
        # Івано-Франківськ, F-16, U.S.: the parts next to each other.
        return Phrase(tuple(Word(w) for w in found))


def _all_of(parts: list[RuleNode]) -> RuleNode:
    """The AND of `parts`, but for the channels it names: a post has one, so `from:@a from:@b`
    as AND matches nothing, ever; an editor typing it means either (a rule or a search that
    silently never found anything). Channels left out (-from:) stay ANDed: neither."""
    sources = [p for p in parts if isinstance(p, FromSource)]
    if len(sources) > 1:
        either = Or(tuple(dict.fromkeys(sources)))
        first = parts.index(sources[0])
        parts = [p for p in parts if not isinstance(p, FromSource)]
        parts.insert(first, either if len(either.parts) > 1 else either.parts[0])
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _source(name: str, pos: int, typed: str = "from") -> FromSource:
    link = _LINK_RE.fullmatch(name)
    name = (link.group("name") if link else name).lstrip("@").rstrip("/").lower()
    if not _CHANNEL_RE.fullmatch(name):
        # Named as typed: a reader who wrote від: was told about "from:".
        raise RuleSyntaxError(
            "{name}: needs a channel like {name}:@channel_name at character {pos}",
            pos,
            name=typed,
            pos=pos,
        )
    return FromSource(name)


def _channel_like(text: str) -> bool:
    """`text` names a channel by its own look: an @name or a t.me link."""
    return text.startswith("@") or _LINK_RE.fullmatch(text) is not None


def _regex(pattern: str, pos: int) -> Regex:
    compile_regex(pattern, pos)  # raises RuleSyntaxError with the reason
    return Regex(pattern)


def _check(node: RuleNode) -> None:
    """Reject rules the matcher cannot use: ones that would only ever exclude."""
    if not _positive(node):
        raise RuleSyntaxError(
            "the rule only excludes; add a word, phrase or from:@channel to look for", 0
        )


def _positive(node: RuleNode) -> bool:
    """Whether every post the rule matches must contain something the index can find."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(p) for p in node.parts)
    if isinstance(node, Or):
        return all(_positive(p) for p in node.parts)
    return True


def parse_rule(query: str) -> RuleNode:
    """Parse an editor's rule; raises RuleSyntaxError with a message for people."""
    node = parse_query(query)
    _check(node)
    return node


def parse_query(query: str) -> RuleNode:
    """The grammar of a rule without a rule's demand to look for something: a search may only
    leave out (`-from:@a since:...`: every post of those days but @a's), a rule may not, as
    it watches every new post."""
    if len(query) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(
            "the rule is too long ({length} characters, at most {n})",
            MAX_RULE_LENGTH,
            length=len(query),
            n=MAX_RULE_LENGTH,
        )
    return _Parser(query).parse()


# ----------------------------------------------------------------------------- JSON


def rule_to_json(node: RuleNode) -> Any:
    if isinstance(node, Word):
        return {"word": node.form}
    if isinstance(node, Exact):
        return {"acronym": node.cased} if node.cased else {"exact": node.form}
    if isinstance(node, Prefix):
        return {"prefix": node.prefix}
    if isinstance(node, Phrase):
        return {"phrase": [w.form for w in node.words]}
    if isinstance(node, Regex):
        return {"regex": node.pattern}
    if isinstance(node, FromSource):
        return {"from": node.channel}
    if isinstance(node, Not):
        return {"not": rule_to_json(node.part)}
    if isinstance(node, And):
        return {"and": [rule_to_json(p) for p in node.parts]}
    return {"or": [rule_to_json(p) for p in node.parts]}


def rule_from_json(value: Any) -> RuleNode:
    """The stored form back to a tree; anything malformed raises RuleSyntaxError."""
    node = _from_json(value, 0)
    _check(node)
    return node


def _from_json(value: Any, depth: int) -> RuleNode:
    if depth > MAX_DEPTH * 2 or not isinstance(value, dict) or len(value) != 1:
        raise RuleSyntaxError("stored rule is malformed", 0)
    ((key, arg),) = value.items()
    if key in ("word", "exact", "prefix") and isinstance(arg, str) and arg:
        # A word's own normal form, as parsing left it (read again, "½" is "1⁄2", which
        # the word pattern takes for two words: that check refused rules it had accepted).
        if normalize_word(arg) != arg or any(ch.isspace() for ch in arg):
            raise RuleSyntaxError("stored rule has a bad {key}: '{value}'", 0, key=key, value=arg)
        if key == "word":
            return Word(arg)
        if key == "exact":
            return Exact(arg)
        if len(arg) < 3:
            raise RuleSyntaxError("stored rule has a short prefix: '{value}'", 0, value=arg)
        return Prefix(arg)
    if key == "phrase" and isinstance(arg, list) and len(arg) >= 2:
        parts = [_from_json({"word": w}, depth + 1) for w in arg]
        return Phrase(tuple(p for p in parts if isinstance(p, Word)))
    if key == "acronym" and isinstance(arg, str) and _ACRONYM_RE.fullmatch(arg):
        return Exact(arg.lower(), cased=arg)
    if key == "regex" and isinstance(arg, str):
        return _regex(arg, 0)
    if key == "from" and isinstance(arg, str):
        return _source(arg, 0)
    if key == "not":
        return Not(_from_json(arg, depth + 1))
    if key in ("and", "or") and isinstance(arg, list) and len(arg) >= 2:
        children = [_from_json(a, depth + 1) for a in arg]
        # A stored AND of channels (saved before they were read as either) never matched.
        return _all_of(children) if key == "and" else Or(tuple(children))
    raise RuleSyntaxError("stored rule is malformed", 0)


def rule_sources(node: RuleNode) -> set[str]:
    """Channels named by from: anywhere in the rule."""
    if isinstance(node, FromSource):
        return {node.channel}
    if isinstance(node, Not):
        return rule_sources(node.part)
    if isinstance(node, And | Or):
        out: set[str] = set()
        for p in node.parts:
            out |= rule_sources(p)
        return out
    return set()
