"""A rule decided from what the store keeps of a post, without re-reading its text.

Search needs to know which FTS5 hits the rule really matches: FTS5 answers a superset (its
tokenizer folds й into и, ignores the stem marks, has no word forms in a phrase and indexes
prefixes of four characters only). Analysing a candidate again costs 0.1-0.2 ms; these checks
cost microseconds and decide exactly what `match_rule` would decide:

- words, AND, OR, NOT and from: from the keys stored with the post (`Analysis.lemma_text`,
  stem marks kept): a set lookup per word;
- phrases from the same keys when they are stored word by word with the sentence breaks
  (posts from migration 0011 on): the matcher's walk over the words' keys, on the stored ones;
- prefixes and exact forms from the stored `norm` (of the same posts) when the text is made
  only of characters whose normalisation is one character for one (plain Cyrillic and ASCII,
  common punctuation): then the words of `norm` are exactly the forms the matcher compares;
- regexes and acronyms need the text: None, and the caller re-reads the post.
"""

from __future__ import annotations

import re
from functools import lru_cache

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
_WORD = r"[^\W_]"
# A word of `norm` starts where a word character follows neither a word character nor a word
# character and one apostrophe (м'ясо is one word).
_WORD_START = rf"(?<!{_WORD})(?<!{_WORD}')"
_WORD_END = rf"(?!{_WORD})(?!'{_WORD})"
_ALL_WORD_RE = re.compile(rf"{_WORD}+")


@lru_cache(maxsize=1024)
def _prefix_re(prefix: str) -> re.Pattern[str]:
    return re.compile(_WORD_START + re.escape(prefix))


@lru_cache(maxsize=1024)
def _form_re(form: str) -> re.Pattern[str]:
    return re.compile(_WORD_START + re.escape(form) + _WORD_END)


class StoredText:
    """One text of a post as the store keeps it: `keys` as `Analysis.lemma_text` wrote them,
    `norm` as `Analysis.norm` did, `text` as written. `by_word`: the keys were stored word by
    word with the sentence breaks (else only the set of keys is trusted)."""

    __slots__ = ("_keyset", "_simple", "_words", "by_word", "keys", "norm", "text")

    def __init__(self, text: str, norm: str, keys: str, *, by_word: bool) -> None:
        self.text = text
        self.norm = norm
        self.keys = keys
        self.by_word = by_word
        self._keyset: frozenset[str] | None = None
        self._words: tuple[list[frozenset[str]], list[bool]] | None = None
        self._simple: bool | None = None

    @property
    def keyset(self) -> frozenset[str]:
        """Every key of every word."""
        if self._keyset is None:
            keys = self.keys
            self._keyset = frozenset(
                (keys.replace(WORD_SEP, " ") if WORD_SEP in keys else keys).split()
            )
        return self._keyset

    @property
    def words(self) -> tuple[list[frozenset[str]], list[bool]]:
        """Each word's keys, and for each word whether a sentence break comes before it."""
        if self._words is None:
            words: list[frozenset[str]] = []
            breaks: list[bool] = []
            after_break = False
            for chunk in self.keys.split():
                if chunk == BREAK:
                    after_break = True
                    continue
                words.append(frozenset() if chunk == NO_KEYS else frozenset(chunk.split(WORD_SEP)))
                breaks.append(after_break)
                after_break = False
            self._words = (words, breaks)
        return self._words

    @property
    def simple(self) -> bool:
        """Whether the words of `norm` are the matcher's forms of `text`, one for one."""
        if self._simple is None:
            self._simple = (
                _SIMPLE_TEXT_RE.fullmatch(self.text) is not None and "''" not in self.norm
            )
        return self._simple


def _phrase(node: Phrase, st: StoredText) -> bool | None:
    """The matcher's phrase walk (bot/matching/matcher.py, _Phrase.found) over stored keys."""
    if not st.by_word:
        return None
    wanted = [rule_keys(w.form) for w in node.words]
    keyset = st.keyset
    if any(k.isdisjoint(keyset) for k in wanted):
        return False
    words, breaks = st.words
    n, span = len(words), len(wanted)
    first = wanted[0]
    for i in range(n - span + 1):
        if first.isdisjoint(words[i]):
            continue
        if all(
            not wanted[j].isdisjoint(words[i + j]) and not breaks[i + j] for j in range(1, span)
        ):
            return True
    return False


def stored_verdict(node: RuleNode, st: StoredText, channel: str) -> bool | None:
    """Whether `node` matches the text `st` stands for (in a post of `channel`); None when
    only the text itself can tell."""
    if isinstance(node, Word):
        return not rule_keys(node.form).isdisjoint(st.keyset)
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
        return _prefix_re(node.prefix).search(st.norm) is not None
    if isinstance(node, Exact):
        if not st.by_word or node.cased is not None or not _ALL_WORD_RE.fullmatch(node.form):
            return None
        if node.form not in st.norm:
            return False
        if not st.simple:
            return None
        return _form_re(node.form).search(st.norm) is not None
    return None
