"""One pass over a post: its words, where they are in the original text, and their keys.

The pipeline calls `analyze` once per post and hands the result both to the FTS columns
(`norm`, `lemma_text`) and to `Matcher.match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate, chain, compress, count
from operator import itemgetter, not_
from typing import Any

from bot.matching.cache import PartitionedCache
from bot.matching.lemmas import STEM_MARK, Lang, text_keys, text_lang
from bot.matching.lemmas import clear_caches as clear_lemma_caches
from bot.matching.normalize import (
    SENTENCE_BREAK_RE,
    normalize_gap,
    normalize_word,
    normalize_word_uncached,
    split_words,
)


@dataclass(frozen=True, slots=True)
class Token:
    start: int  # offsets into the original text
    end: int
    form: str  # normalised
    keys: frozenset[str]  # lemmas, and "~stem" keys for names


# Every word a post is made of, as written (case included) and by text language: its normalised
# form and keys. Bounded by bytes (bot/matching/cache.py): a feed's working vocabulary fits,
# and a long run's ever-growing tail of names cannot grow the service past it. One partition
# per text language, so that a post's words are looked up by the bare word.
TOKEN_CACHE_BYTES = 64 * 1024 * 1024  # estimated (shared strings counted each time)

WordInfo = tuple[str, tuple[str, ...]]  # (normalised form, keys)


def _token_uncached(lang: Lang, raw: str) -> WordInfo:
    form = normalize_word_uncached(raw)
    # Sorted and distinct, as the `lemmas` column writes them (text_keys gives them so).
    return form, tuple(sorted(set(text_keys(form, lang, raw[:1].isupper()))))


_TOKENS: PartitionedCache[Lang, str, WordInfo] = PartitionedCache(
    TOKEN_CACHE_BYTES, _token_uncached
)

_form_of = itemgetter(0)
_keys_of = itemgetter(1)


def _infos(words: list[str], lang: Lang) -> list[WordInfo]:
    """The cached (form, keys) of each word; the words the cache lacks computed once each."""
    young = _TOKENS.young(lang)
    infos: list[WordInfo | None] = list(map(young.get, words))
    if all(infos):  # a (form, keys) pair is never false; all() tests truth, not equality
        return infos  # type: ignore[return-value]  # no None: checked just above
    # Each distinct new word once, however often the post repeats it.
    new = {w: _TOKENS.miss(lang, w) for w in set(words).difference(young)}
    return [
        info or new.get(w) or _TOKENS.get(lang, w) for w, info in zip(words, infos, strict=True)
    ]


class Analysis:
    """Words of a text with every lemma and their spans in the ORIGINAL text.

    Matching needs only the words and their keys: one `findall` and one cache lookup per word,
    both at C speed. Where the words are in the text (`spans`) is found again, by the same
    pattern, only when something asks: a phrase, an acronym, a highlight, the `norm` column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lang: Lang = text_lang(text)
        # One pass of the word pattern: the words, and the text around them (before the
        # first, between each two: gaps[k + 1] lies between words k and k + 1, after the last).
        self._words: list[str]
        self._words, self.gaps = split_words(text)
        self._infos = _infos(self._words, self.lang)
        # Per-post results the matcher shares between rules (a word's spans, a phrase's hits).
        self.memo: dict[object, Any] = {}

    def __len__(self) -> int:
        return len(self._words)

    @cached_property
    def _offsets(self) -> list[int]:
        """Where each word starts and ends, in turn: the running sum of the lengths of the
        gaps and words (gap, word, gap, ..., gap), at C speed."""
        lengths = [0] * (2 * len(self._words) + 1)
        lengths[0::2] = map(len, self.gaps)
        lengths[1::2] = map(len, self._words)
        return list(accumulate(lengths))

    @cached_property
    def starts(self) -> list[int]:
        return self._offsets[0:-1:2]

    @cached_property
    def ends(self) -> list[int]:
        return self._offsets[1::2]

    @cached_property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) of each word in the original text."""
        return list(zip(self.starts, self.ends, strict=True))

    @cached_property
    def forms(self) -> list[str]:
        return list(map(_form_of, self._infos))

    @cached_property
    def formset(self) -> frozenset[str]:
        """Every normalised form in the text."""
        return frozenset(self.forms)

    @cached_property
    def keys(self) -> list[tuple[str, ...]]:
        """Each word's keys: its lemmas, and "~stem" keys for names."""
        return list(map(_keys_of, self._infos))

    @cached_property
    def keyset(self) -> frozenset[str]:
        """Every key of every word."""
        return frozenset(chain.from_iterable(map(_keys_of, self._infos)))

    def carrying(self, keys: frozenset[str]) -> list[int]:
        """Indices of the words that carry one of `keys`, in order (at C speed: no Python
        step per word)."""
        return list(compress(count(), map(not_, map(keys.isdisjoint, self.keys))))

    @property
    def tokens(self) -> list[Token]:
        return [
            Token(s, e, f, frozenset(k))
            for (s, e), (f, k) in zip(self.spans, self._infos, strict=True)
        ]

    @cached_property
    def form_positions(self) -> dict[str, list[int]]:
        """Normalised form -> indices of the words written that way."""
        out: dict[str, list[int]] = {}
        for i, f in enumerate(self.forms):
            found = out.get(f)
            if found is None:
                out[f] = [i]
            else:
                found.append(i)
        return out

    @cached_property
    def norm(self) -> str:
        """The FTS `norm` column: normalize(text), from the words already found: the text
        between words (`split` by the same pattern, one piece more than words) normalised,
        and each word's form."""
        gaps = list(map(_gap, self.gaps))
        out = [""] * (2 * len(gaps) - 1)
        out[0::2] = gaps
        out[1::2] = self.forms
        return "".join(out)

    @cached_property
    def lemma_text(self) -> str:
        """The FTS `lemmas` column: each word's keys as they are, stem marks included, the keys
        of one word joined by "|", "-" for a word without keys and "." between two words a
        sentence break parts. FTS5's tokenizer reads "~", "|", "-" and "." as separators, so
        "~умєров" indexes as the token "умєров" (what `fts_key` looks up) and the index is
        what a plain list of keys gives, while the stored text still tells a stem from a lemma,
        one word from the next and where sentences end: search can then decide a rule of
        words and phrases from the stored keys without re-reading the post
        (bot/matching/verdict.py). A word's keys are sorted and distinct (`_token_uncached`),
        so they are joined as they are."""
        keys = self.keys
        out = list(map("|".join, keys))
        if not all(keys):
            out = [joined if k else "-" for joined, k in zip(out, keys, strict=True)]
        # A break never lies inside a word, so gaps[i] (between words i - 1 and i) holds it;
        # inserted from the end so that the indices ahead stay put.
        for i in reversed(list(compress(count(), map(SENTENCE_BREAK_RE.search, self.gaps)))):
            if 0 < i < len(out):
                out.insert(i, ".")
        return " ".join(out)


@lru_cache(maxsize=1024)
def _short_gap(gap: str) -> str:
    return normalize_gap(gap)


def _gap(gap: str) -> str:
    """normalize_gap, cached for the short gaps (" ", ", ", ". ") nearly every word has."""
    return _short_gap(gap) if len(gap) <= 8 else normalize_gap(gap)


def fts_key(key: str) -> str:
    """A key as written into (and looked up in) the FTS `lemmas` column."""
    return key[1:] if key.startswith(STEM_MARK) else key


def clear_caches() -> None:
    """Forget every cached word (benchmarks measure cold lemmatisation with this)."""
    _TOKENS.clear()
    _short_gap.cache_clear()
    normalize_word.cache_clear()
    clear_lemma_caches()


def analyze(text: str) -> Analysis:
    return Analysis(text)


def index_fields(text: str) -> tuple[str, str]:
    """(norm, lemma_text): the two FTS columns of a post."""
    a = Analysis(text)
    return a.norm, a.lemma_text
