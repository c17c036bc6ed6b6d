"""One pass over a post: its words, where they are in the original text, and their keys.

The pipeline calls `analyze` once per post and hands the result both to the FTS columns
(`norm`, `lemma_text`) and to `Matcher.match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bot.matching.cache import ByteBoundedCache
from bot.matching.lemmas import STEM_MARK, Lang, text_keys, text_lang
from bot.matching.lemmas import clear_caches as clear_lemma_caches
from bot.matching.normalize import (
    SENTENCE_BREAK_RE,
    normalize_gap,
    normalize_word,
    normalize_word_uncached,
    token_re,
)


@dataclass(frozen=True, slots=True)
class Token:
    start: int  # offsets into the original text
    end: int
    form: str  # normalised
    keys: frozenset[str]  # lemmas, and "~stem" keys for names


# Every word a post is made of, as written (case included) and by text language: its normalised
# form and keys. Bounded by bytes (bot/matching/cache.py): a feed's working vocabulary fits,
# and a long run's ever-growing tail of names cannot grow the service past it.
TOKEN_CACHE_BYTES = 64 * 1024 * 1024  # estimated (shared strings counted each time)


def _token_uncached(key: tuple[str, Lang]) -> tuple[str, tuple[str, ...]]:
    raw, lang = key
    form = normalize_word_uncached(raw)
    return form, text_keys(form, lang, raw[:1].isupper())


_TOKENS: ByteBoundedCache[tuple[str, Lang], tuple[str, tuple[str, ...]]] = ByteBoundedCache(
    TOKEN_CACHE_BYTES, _token_uncached
)


def _token(raw: str, lang: Lang) -> tuple[str, tuple[str, ...]]:
    return _TOKENS.get((raw, lang))


class Analysis:
    """Words of a text with every lemma and their spans in the ORIGINAL text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lang: Lang = text_lang(text)
        lang = self.lang
        spans: list[tuple[int, int]] = []
        infos: list[tuple[str, tuple[str, ...]]] = []
        add_span, add_info = spans.append, infos.append
        cached, miss = _TOKENS.young.get, _TOKENS.miss
        # The hot loop of matching: one regex pass, one dict lookup per word.
        for m in token_re(text).finditer(text):
            add_span(m.span())
            key = (m.group(), lang)
            add_info(cached(key) or miss(key))
        self.spans = spans
        self._infos = infos
        # Per-post results the matcher shares between rules (a word's spans, a phrase's hits).
        self.memo: dict[object, Any] = {}

    def __len__(self) -> int:
        return len(self.spans)

    @cached_property
    def starts(self) -> list[int]:
        return [s for s, _ in self.spans]

    @cached_property
    def ends(self) -> list[int]:
        return [e for _, e in self.spans]

    @cached_property
    def forms(self) -> list[str]:
        return [f for f, _ in self._infos]

    @cached_property
    def keys(self) -> list[tuple[str, ...]]:
        """Each word's keys: its lemmas, and "~stem" keys for names."""
        return [k for _, k in self._infos]

    @cached_property
    def keyset(self) -> frozenset[str]:
        """Every key of every word."""
        return frozenset().union(*self.keys)

    @property
    def tokens(self) -> list[Token]:
        return [
            Token(s, e, f, frozenset(k))
            for (s, e), (f, k) in zip(self.spans, self._infos, strict=True)
        ]

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Key -> indices of the words that carry it."""
        out: dict[str, list[int]] = {}
        for i, ks in enumerate(self.keys):
            for k in ks:
                if k in out:
                    out[k].append(i)
                else:
                    out[k] = [i]
        return out

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
        """The FTS `norm` column: normalize(text), from the words already found."""
        text, pos = self.text, 0
        out: list[str] = []
        for (start, end), (form, _) in zip(self.spans, self._infos, strict=True):
            if start > pos:
                out.append(normalize_gap(text[pos:start]))
            out.append(form)
            pos = end
        if pos < len(text):
            out.append(normalize_gap(text[pos:]))
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
        (bot/matching/verdict.py)."""
        text, spans = self.text, self.spans
        breaks = [m.start() for m in SENTENCE_BREAK_RE.finditer(text)]
        b, nb = 0, len(breaks)
        out: list[str] = []
        for i, ks in enumerate(self.keys):
            if b < nb and i:
                # Every break lies in one gap between words (none of its characters is part of
                # a word): is there one between this word and the previous?
                start = spans[i][0]
                while b < nb and breaks[b] < spans[i - 1][1]:
                    b += 1
                if b < nb and breaks[b] < start:
                    out.append(".")
            out.append("|".join(sorted(set(ks))) if ks else "-")
        return " ".join(out)


def fts_key(key: str) -> str:
    """A key as written into (and looked up in) the FTS `lemmas` column."""
    return key[1:] if key.startswith(STEM_MARK) else key


def clear_caches() -> None:
    """Forget every cached word (benchmarks measure cold lemmatisation with this)."""
    _TOKENS.clear()
    normalize_word.cache_clear()
    clear_lemma_caches()


def analyze(text: str) -> Analysis:
    return Analysis(text)


def index_fields(text: str) -> tuple[str, str]:
    """(norm, lemma_text): the two FTS columns of a post."""
    a = Analysis(text)
    return a.norm, a.lemma_text
