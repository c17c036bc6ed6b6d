"""A rule decided from what the store keeps of a post, without re-reading its text.

Search needs to know which FTS5 hits the rule really matches: FTS5 answers a superset (its
tokenizer folds й into и, ignores the stem marks, has no word forms in a phrase and indexes
prefixes of four characters only). Analysing a candidate again costs 0.1-0.2 ms; these checks
cost microseconds and decide exactly what `match_rule` would decide:

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


def _has_any(keys: str, wanted: frozenset[str]) -> bool:
    return any(_key_at(keys, k) >= 0 for k in wanted)


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


def _phrase(node: Phrase, st: StoredText) -> bool | None:
    """The matcher's phrase walk (bot/matching/matcher.py, _Phrase.found) over the stored
    keys: a word carrying one of the first word's keys, followed by words carrying the next
    ones, with no sentence break (".") between them."""
    if not st.by_word:
        return None
    wanted = [rule_keys(w.form) for w in node.words]
    keys = st.keys
    if not all(_has_any(keys, k) for k in wanted):
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


def stored_verdict(node: RuleNode, st: StoredText, channel: str) -> bool | None:
    """Whether `node` matches the text `st` stands for (in a post of `channel`); None when
    only the text itself can tell."""
    if isinstance(node, Word):
        # A few searches of the stored text cost less than splitting it into a set of keys.
        return _has_any(st.keys, rule_keys(node.form))
    if isinstance(node, FromSource):
        return channel.lower().lstrip("@") == node.channel
    if isinstance(node, Not):
        inner = stored_verdict(node.part, st, channel)
        return None if inner is None else not inner
    if isinstance(node, And):
        undecided = False
        for part in node.parts:
            v = stored_verdict(part, st, channel)
            if v is False:
                return False
            undecided = undecided or v is None
        return None if undecided else True
    if isinstance(node, Or):
        undecided = False
        for part in node.parts:
            v = stored_verdict(part, st, channel)
            if v is True:
                return True
            undecided = undecided or v is None
        return None if undecided else False
    if isinstance(node, Phrase):
        return _phrase(node, st)
    if isinstance(node, Prefix):
        if not st.by_word or not _ALL_WORD_RE.fullmatch(node.prefix):
            return None
        if node.prefix not in st.norm:
            return False  # every form is written out in norm
        if not st.simple:
            return None
        return _word_at(st.norm, node.prefix, whole=False)
    if isinstance(node, Exact):
        if not st.by_word or node.cased is not None or not _ALL_WORD_RE.fullmatch(node.form):
            return None
        if node.form not in st.norm:
            return False
        if not st.simple:
            return None
        return _word_at(st.norm, node.form, whole=True)
    return None
