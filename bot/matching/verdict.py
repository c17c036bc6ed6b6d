"""A rule decided from what the store keeps of a post, without re-reading its text.

Search needs to know which FTS5 hits the rule really matches: FTS5 answers a superset (its
tokenizer ignores the stem marks, has no word forms in a phrase, keeps no positions since
migration 0022, and indexes prefixes of four characters only). Analysing a candidate again
costs 0.1-0.2 ms; these checks cost microseconds and decide exactly what `match_rule` would
decide:

- words, AND, OR, NOT and from: from the keys stored with the post (`Analysis.lemma_text`,
  stem marks kept): a set lookup per word;
- phrases from the same keys when they are stored word by word with the sentence breaks
  (posts from migration 0012 on): the matcher's walk over the words' keys, on the stored ones;
- prefixes and exact forms from the stored `norm` (of the same posts) when the text is made
  only of characters whose normalisation is one character for one (plain Cyrillic and ASCII,
  common punctuation): then the words of `norm` are exactly the forms the matcher compares;
- regexes and acronyms need the text: None, and the caller re-reads the post.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.matching.lemmas import rule_keys
from bot.matching.rules import And, Exact, FromSource, Not, Or, Phrase, Prefix, RuleNode, Word

WORD_SEP = "|"  # between the keys of one word in the stored keys
NO_KEYS = "-"  # a word without keys
BREAK = "."  # a sentence break between two words

# Texts whose `norm` holds the matcher's forms as its words: every character normalises to one
# character that is a word character exactly when it was one (no NFKC expansion such as № or
# ½, no format characters, no combining marks; … becomes three dots, still not a word).
_SIMPLE_TEXT_RE = re.compile(
    "[\t\n\r\x20-\x7e\u00a0\u00ab\u00bb\u02bc\u0400-\u045f\u0490\u0491"
    "\u2013\u2014\u2018\u2019\u201c\u201d\u201e\u2022\u2026]*"
)
_ALL_WORD_RE = re.compile(r"[^\W_]+")


def _key_at(keys: str, key: str, start: int = 0) -> int:
    """Where `key` starts as a whole key of the stored keys text (keys end at " " and "|") at
    or after `start`; -1 if nowhere. A few `str.find` calls: cheaper than any split."""
    size = len(key)
    end = len(keys)
    pos = keys.find(key, start)
    while pos >= 0:
        after = pos + size
        if (pos == 0 or keys[pos - 1] in " |") and (after == end or keys[after] in " |"):
            return pos
        pos = keys.find(key, pos + 1)
    return -1


def _has_any(keys: str, wanted: Iterable[str]) -> bool:
    # A few searches of the stored text cost less than splitting it into a set of keys. A loop,
    # not any() over a generator: that costs more than the searches (search runs it per hit).
    for key in wanted:  # noqa: SIM110
        if _key_at(keys, key) >= 0:
            return True
    return False


def _word_at(norm: str, piece: str, *, whole: bool) -> bool:
    """Whether a word of `norm` starts with `piece` (`whole`: is `piece`), `piece` being word
    characters only. A word starts where a word character follows neither a word character
    nor a word character and one apostrophe (м'ясо is one word), and ends likewise; a word
    character is what `[^\\W_]` matches, which is `str.isalnum`. `str.find` and a look at the
    characters around each place: a regex with these look-behinds tries every position of
    the text (3 µs a post against 0.3 µs; a page of prefix hits tests 21)."""
    size = len(piece)
    end = len(norm)
    pos = norm.find(piece)
    while pos >= 0:
        if not (
            pos
            and (
                norm[pos - 1].isalnum()
                or (pos > 1 and norm[pos - 1] == "'" and norm[pos - 2].isalnum())
            )
        ):
            after = pos + size
            if not whole or not (
                after < end
                and (
                    norm[after].isalnum()
                    or (norm[after] == "'" and after + 1 < end and norm[after + 1].isalnum())
                )
            ):
                return True
        pos = norm.find(piece, pos + 1)
    return False


class StoredText:
    """One text of a post as the store keeps it: `keys` as `Analysis.lemma_text` wrote them,
    `norm` as `Analysis.norm` did, `text` as written. `by_word`: the keys were stored word by
    word with the sentence breaks (else only the set of keys is trusted)."""

    __slots__ = ("_simple", "by_word", "keys", "norm", "text")

    def __init__(self, text: str, norm: str, keys: str, *, by_word: bool) -> None:
        self.text = text
        self.norm = norm
        self.keys = keys
        self.by_word = by_word
        self._simple: bool | None = None

    @property
    def simple(self) -> bool:
        """Whether the words of `norm` are the matcher's forms of `text`, one for one."""
        if self._simple is None:
            self._simple = (
                _SIMPLE_TEXT_RE.fullmatch(self.text) is not None and "''" not in self.norm
            )
        return self._simple


def _carries(word: str, wanted: frozenset[str]) -> bool:
    """Whether the stored word `word` ("a|b") carries one of `wanted`."""
    if "|" not in word:
        return word in wanted
    return not wanted.isdisjoint(word.split("|"))


def _phrase(wanted: list[frozenset[str]], st: StoredText) -> bool | None:
    """The matcher's phrase walk (bot/matching/matcher.py, _Phrase.found) over the stored
    keys: a word carrying one of the first word's keys (`wanted`: each word's), followed by
    words carrying the next ones, with no sentence break (".") between them."""
    if not st.by_word:
        return None
    keys = st.keys
    for want in wanted:
        if not _has_any(keys, want):
            return False
    size = len(keys)
    for key in wanted[0]:
        pos = _key_at(keys, key)
        while pos >= 0:
            end = keys.find(" ", pos)
            for want in wanted[1:]:
                if end < 0:
                    break  # the text ends before the phrase does
                start = end + 1
                end = keys.find(" ", start)
                word = keys[start : end if end >= 0 else size]
                if word == BREAK or not _carries(word, want):
                    break
            else:
                return True
            pos = _key_at(keys, key, pos + 1)
    return False


Verdict = Callable[[StoredText, str], bool | None]


def _undecided(st: StoredText, channel: str) -> bool | None:
    return None


def compile_verdict(node: RuleNode) -> Verdict:
    """`node` as a test of a stored text in a post of a channel: whether the node matches it,
    None when only the text itself can tell. The rule's keys are looked up here, once (in the
    caller's thread), and the tree is dispatched once: search tests every hit of a page with
    the same rule (a page of three words took 4.5 µs a hit through `stored_verdict`)."""
    if isinstance(node, Word):
        wanted = tuple(rule_keys(node.form))
        if len(wanted) == 1:
            (only,) = wanted  # most words: one lemma; no loop to set up for every post

            def one_key(st: StoredText, channel: str) -> bool | None:
                return _key_at(st.keys, only) >= 0

            return one_key

        def word(st: StoredText, channel: str) -> bool | None:
            return _has_any(st.keys, wanted)

        return word
    if isinstance(node, FromSource):
        source = node.channel
        return lambda st, channel: channel.lower().lstrip("@") == source
    if isinstance(node, Not):
        inner = compile_verdict(node.part)

        def negated(st: StoredText, channel: str) -> bool | None:
            v = inner(st, channel)
            return None if v is None else not v

        return negated
    if isinstance(node, And | Or):
        parts = tuple(compile_verdict(part) for part in node.parts)
        # And: a False part decides; Or: a True one. Otherwise decided only if every part is.
        decisive = isinstance(node, Or)

        def either(st: StoredText, channel: str) -> bool | None:
            undecided = False
            for part in parts:
                v = part(st, channel)
                if v is decisive:
                    return decisive
                undecided = undecided or v is None
            return None if undecided else not decisive

        return either
    if isinstance(node, Phrase):
        keys = [rule_keys(w.form) for w in node.words]
        return lambda st, channel: _phrase(keys, st)
    if isinstance(node, Prefix | Exact):
        if isinstance(node, Prefix):
            piece, whole = node.prefix, False
        elif node.cased is None:
            piece, whole = node.form, True
        else:
            return _undecided
        if not _ALL_WORD_RE.fullmatch(piece):
            return _undecided

        def written(st: StoredText, channel: str) -> bool | None:
            if not st.by_word:
                return None
            if piece not in st.norm:
                return False  # every form is written out in norm
            if not st.simple:
                return None
            return _word_at(st.norm, piece, whole=whole)

        return written
    return _undecided


def stored_verdict(node: RuleNode, st: StoredText, channel: str) -> bool | None:
    """Whether `node` matches the text `st` stands for (in a post of `channel`); None when
    only the text itself can tell. For many texts, compile the node once: compile_verdict."""
    return compile_verdict(node)(st, channel)
