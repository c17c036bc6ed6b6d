"""Sentence boundaries in post text, as offsets into the original string, and quote choice.

Pure functions. A sentence is always `text[start:end]`, so a quote built from sentences is the
post's own characters, never retyped. When a boundary is uncertain we do NOT split: quoting two
sentences is harmless, cutting one in half misquotes an official.

Why not razdel or pysbd: razdel (the Russian rule-based splitter) breaks inside quotations
(«Це „важливо“. Дуже!» became two sentences), does not know Ukrainian abbreviations (т.зв., див.)
and is tuned for Russian only; pysbd has no Ukrainian. A splitter that tracks quote depth and knows
three abbreviation lists is small enough to own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from bot.drafting.abbreviations import (
    ABBREVIATIONS,
    CENTURY_MARKS,
    FUNCTION_WORDS,
    LETTER_LABELS,
    ONE_LETTER_ABBREVIATIONS,
    PRONOUN_I_BEFORE,
    SENTENCE_STARTERS_EN,
    SOFT_ABBREVIATIONS,
    YEAR_MARKS,
)
from bot.matching.lemmas import parts_of_speech, text_keys


class SpanLike(Protocol):
    """Anything with offsets into the post text (bot.matching.Span satisfies it)."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int

    def text(self, source: str) -> str:
        return source[self.start : self.end]


_OPEN_QUOTES = "«„“"
_CLOSE_QUOTES = "»“”"
# “ closes „ (uk/ru inner) but opens in English; resolved by context in _quote_delta.
_CLOSERS = "»”“\"'’)]}"
_TERMINALS = ".!?…"
_WORD_BEFORE_DOT = re.compile(r"([^\W\d_]+(?:[.\-][^\W\d_]+)*)$")


_INTERESTING = re.compile(
    '[\n«»„“”".!?…\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u203c\u2049\u2122'
    "\u2139\u3030\u303d\u3297\u3299\u200d\ufe0f\ufe0e\u20e3\U000e0020-\U000e007f]"
)


def _is_pictographic(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
    )


def is_emoji_part(ch: str) -> bool:
    """Pictographs and the code points that glue them (ZWJ, variation selectors, skin tones)."""
    cp = ord(ch)
    return (
        _is_pictographic(ch) or cp in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0xE0020 <= cp <= 0xE007F
    )


def _starts_sentence(ch: str) -> bool:
    if ch.isupper() or ch.isdigit() or _is_pictographic(ch):
        return True
    return ch in _OPEN_QUOTES or ch in "\"'([—–-•@#"


def _is_abbreviation(text: str, dot: int) -> bool:
    """True if the `.` at `dot` closes an abbreviation or an initial rather than a sentence."""
    m = _WORD_BEFORE_DOT.search(text, max(0, dot - 64), dot)
    if m is None:
        return False
    word = m.group(1)
    if _is_soft(text, m.start(), word):
        return not _capitalised_word_at(text, dot + 1)
    if len(word) == 1:
        return _is_initial_or_letter_abbreviation(text, m.start(), word)
    folded = word.casefold()
    if folded in ABBREVIATIONS:
        return True
    parts = re.split(r"[.]", folded)
    if len(parts) > 1 and all(len(p) <= 2 for p in parts):
        return True  # U.S., т.зв, В.о.: dotted acronyms
    return parts[-1] in ABBREVIATIONS and len(parts) > 1


_ROMAN_OR_NUMBER_BEFORE = re.compile(r"(?:\d+|[IVXLCХІ]+)\s?$")
_WORD_BEFORE_SPACE = re.compile(r"([^\W\d_]+)\s+$")


def _is_initial_or_letter_abbreviation(text: str, start: int, letter: str) -> bool:
    """A capital letter is an initial ("В. Зеленський", "Т. Г. Шевченко", "J. Smith"), except
    the English pronoun after a verb ("So do I."); a lowercase letter is an abbreviation only if
    it is a known one ("п. 3", "т. 2", "о. Зміїний", "XX в."), else a word that ends the
    sentence ("Рішення є.", "Це я.")."""
    before = text[max(0, start - 24) : start]
    if letter.isupper():
        prev = _WORD_BEFORE_SPACE.search(before)
        if letter == "I" and prev is not None and prev.group(1).casefold() in PRONOUN_I_BEFORE:
            return False
        return not _lettered_point(prev.group(1) if prev else "", text, start + 2)
    if letter in ONE_LETTER_ABBREVIATIONS:
        return True
    return letter in CENTURY_MARKS and _ROMAN_OR_NUMBER_BEFORE.search(before) is not None


_NEXT_WORD = re.compile(r"[ \t\u00a0]+([^\W\d_][\w'’ʼ-]*)")
# Parts of speech no surname after an initial is: a word that has one of them starts a sentence.
_NOT_A_NAME = frozenset(["ADVB", "CONJ", "PREP", "PRCL", "NPRO", "VERB", "INFN", "PRED", "INTJ"])


def _lettered_point(before: str, text: str, after: int) -> bool:
    """True if the capital letter whose full stop ends at `after` is a point of a list ("пункт
    Б. Далі…", "option C. We…"), not an initial: a label noun stands before it, or the next
    word is one no surname is (an adverb, a pronoun, a verb, a conjunction)."""
    word = before.casefold()
    if word and not LETTER_LABELS.isdisjoint((word, *text_keys(word, "both", False))):
        return True
    m = _NEXT_WORD.match(text, after)
    if m is None:
        return False
    following = m.group(1).casefold()
    if len(following) < 2:
        return False  # another initial: "Т. Г. Коваль", "J. A. Smith"
    if following in SENTENCE_STARTERS_EN:
        return True
    return (
        not _NOT_A_NAME.isdisjoint(parts_of_speech(following))
        if _is_cyrillic(following)
        else False
    )


def _is_cyrillic(word: str) -> bool:
    return "\u0400" <= word[0] <= "\u04ff"


def ends_with_abbreviation(text: str) -> bool:
    """True if the full stop that ends `text` belongs to an abbreviation the splitter knows
    ("2025 р.", "1 груд.", "т.зв.", "U.S."), so a quote must keep it."""
    if not text.endswith(".") or text.endswith(".."):
        return False
    dot = len(text) - 1
    m = _WORD_BEFORE_DOT.search(text, max(0, dot - 64), dot)
    if m is None or m.end() != dot:
        return False
    word = m.group(1)
    folded = word.casefold()
    if _is_soft(text, m.start(), word) or folded in ABBREVIATIONS:
        return True
    parts = folded.split(".")
    return len(parts) > 1 and (all(len(p) <= 2 for p in parts) or parts[-1] in ABBREVIATIONS)


def _is_soft(text: str, start: int, word: str) -> bool:
    """A unit, currency or month abbreviation, or a year marker after a number ("2025 р."):
    these end sentences as often as not, so only the next word decides."""
    folded = word.casefold()
    if folded in SOFT_ABBREVIATIONS:
        return True
    before = text[max(0, start - 3) : start]
    return folded in YEAR_MARKS and re.search(r"\d\s?$", before) is not None


def _capitalised_word_at(text: str, i: int) -> bool:
    """True if a capitalised word (not an ALL-CAPS acronym, not a number) follows `i`, which is
    what a new sentence after "млн дол." or "15 груд." looks like ("…дол. США" is not one)."""
    m = re.compile(r"[ \t\u00a0]+([^\W\d_])([^\W\d_]?)").match(text, i)
    if m is None:
        return False
    first, second = m.group(1), m.group(2)
    return first.isupper() and (not second or second.islower())


def _quote_delta(text: str, i: int, depth: int) -> int:
    """+1, -1 or 0: how the character at `i` changes the quotation depth."""
    ch = text[i]
    if ch in "«„":
        return 1
    if ch == "»":
        return -1 if depth > 0 else 0
    if ch == "“":
        # Closes „ in uk/ru typography; opens an English quote otherwise.
        return -1 if depth > 0 and "„" in text[max(0, i - 2000) : i] else 1
    if ch == "”":
        return -1 if depth > 0 else 0
    if ch == '"':
        before = text[i - 1] if i > 0 else " "
        # A straight quote after a space or an opening bracket opens; anything else closes.
        if before.isspace() or before in "([«„—–-:":
            return 1
        return -1 if depth > 0 else 0
    return 0


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order, trimmed of surrounding whitespace; never empty."""
    out: list[Sentence] = []
    n = len(text)
    start = 0
    depth = 0
    i = 0

    def emit(end: int) -> None:
        s, e = start, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append(Sentence(s, e))

    while i < n:
        # Jump over ordinary letters in C: only these characters can change anything below.
        hit = _INTERESTING.search(text, i)
        if hit is None:
            break
        i = hit.start()
        ch = text[i]
        if ch == "\n":
            # Telegram posts are not hard-wrapped: a line break ends a headline, a list item or
            # a paragraph, and an unclosed quotation does not run past it.
            emit(i)
            start, depth = i + 1, 0
            i += 1
            continue
        delta = _quote_delta(text, i, depth)
        if delta:
            depth = max(0, depth + delta)
            i += 1
            continue
        if ch in _TERMINALS or is_emoji_part(ch):
            j = i
            emoji_only = ch not in _TERMINALS
            while j < n and (text[j] in _TERMINALS or is_emoji_part(text[j])):
                emoji_only = emoji_only and text[j] not in _TERMINALS
                j += 1
            # Closing quotes and brackets belong to the sentence they end.
            while j < n and text[j] in _CLOSERS:
                d = _quote_delta(text, j, depth)
                if d > 0:
                    break
                depth = max(0, depth + d)
                j += 1
            # Emoji that trail the punctuation stay with the sentence too.
            while (
                j < n
                and (is_emoji_part(text[j]) or text[j] in " \t\u00a0")
                and (is_emoji_part(text[j]) or (j + 1 < n and is_emoji_part(text[j + 1])))
            ):
                j += 1
            k = j
            while k < n and text[k] in " \t\u00a0\u200e\u200f":
                k += 1
            boundary = (
                depth == 0
                and k > j
                and k < n
                and text[k] != "\n"
                and _starts_sentence(text[k])
                and not (ch == "." and text[i + 1 : i + 2] != "." and _is_abbreviation(text, i))
                and not (emoji_only and not _emoji_can_end(text, i))
            )
            if boundary:
                emit(j)
                start = k
            i = max(j, i + 1)
            continue
        i += 1
    emit(n)
    return out


def _emoji_can_end(text: str, i: int) -> bool:
    """An emoji with no punctuation ends a sentence only after a finished word and a space
    ("Ми вистояли 🇺🇦 Дякую всім"), not in the middle of a phrase ("з 🇺🇸 США")."""
    k = i - 1
    while k >= 0 and is_emoji_part(text[k]):
        k -= 1
    if k < 1 or not text[k].isspace():
        return False
    prev = text[k - 1]
    if prev in _CLOSERS or prev.isdigit():
        return True
    m = _WORD_BEFORE_DOT.search(text, max(0, k - 64), k)
    return m is not None and m.end() == k and m.group(1).casefold() not in FUNCTION_WORDS


def _grapheme_safe(text: str, i: int) -> bool:
    """False if a break before index `i` would split a user-perceived character."""
    if i <= 0 or i >= len(text):
        return True
    ch, prev = text[i], text[i - 1]
    if unicodedata.combining(ch) or ord(ch) in (0x200D, 0xFE0F, 0xFE0E, 0x20E3):
        return False
    if 0x1F3FB <= ord(ch) <= 0x1F3FF or 0xE0020 <= ord(ch) <= 0xE007F or prev == "\u200d":
        return False
    if 0x1F1E6 <= ord(ch) <= 0x1F1FF and 0x1F1E6 <= ord(prev) <= 0x1F1FF:
        # Regional indicators pair up left to right into flags.
        run = 0
        k = i - 1
        while k >= 0 and 0x1F1E6 <= ord(text[k]) <= 0x1F1FF:
            run += 1
            k -= 1
        return run % 2 == 0
    return not unicodedata.category(ch).startswith("M")


def break_points(text: str) -> tuple[list[int], list[int], list[int]]:
    """Offsets where a long text may be cut, best first: paragraph/line ends, sentence ends,
    word boundaries. Cutting at any of them leaves every sentence or word whole."""
    lines = [m.end() for m in re.finditer(r"\n", text)]
    sentences = [s.end for s in split_sentences(text)]
    words = [m.start() for m in re.finditer(r"(?<=\S)\s", text)]
    return lines, sentences, words


def grapheme_safe(text: str, i: int) -> bool:
    return _grapheme_safe(text, i)


def _paragraph_of(text: str, s: Sentence) -> tuple[int, int]:
    a = text.rfind("\n", 0, s.start) + 1
    b = text.find("\n", s.end)
    return a, (len(text) if b < 0 else b)


def choose_quote(
    text: str,
    spans: Iterable[SpanLike] = (),
    *,
    max_chars: int = 600,
    max_sentences: int = 3,
    focus: Iterable[SpanLike] = (),
    shown: bool = False,
) -> tuple[int, int] | None:
    """(start, end) of the sentence(s) to quote: `text[start:end]` verbatim. `shown`: the post
    shows a photo or video, so a caption that says nothing ("Фото дня", "Дивіться відео") and
    holds none of the rule's words is no quote (None: the draft says what was posted).

    `spans` are where the rule that fired matched (offsets into `text`; a span's `term`, when it
    has one, is the rule's term, so five forms of one name count once). Each sentence scores ten
    points per distinct term it holds plus its substance (figures, length; datelines, greetings,
    headings, link tails and name-only sentences lose); the best wins, earliest on a tie. The
    neighbours of its paragraph join while they hold terms too, and the next one joins when it
    carries the figure the chosen sentence lacks (else the previous one), as long as the quote
    stays under `max_chars` and `max_sentences` (a reporter quotes two or three sentences and
    paraphrases the rest; a paragraph that names the rule's words in every line stays short).
    A sentence touching `focus` (what an edit changed) wins over any other. Never cuts a
    sentence. None for a text with no sentence (empty, or a bare photo).
    """
    sentences = split_sentences(text)
    if not sentences:
        return None
    marks = sorted(
        {
            (s.start, s.end, getattr(s, "term", None) or text[s.start : s.end].casefold())
            for s in spans
            if 0 <= s.start < s.end <= len(text)
        }
    )

    def terms(s: Sentence) -> set[str]:
        return {t for a, b, t in marks if a < s.end and b > s.start}

    changed = [(f.start, f.end) for f in focus]

    def touched(s: Sentence) -> bool:
        return any(a < s.end and b > s.start for a, b in changed)

    # A heading's words ("Обмін полоненими") name what the lines under it are about, up to the
    # next heading: those lines count them too, so the quote is something said, not the topic.
    # Only when no line under it holds them itself: then the heading is all that names them.
    lent: list[set[str]] = [set() for _ in sentences]
    starts = [k for k, s in enumerate(sentences) if _is_heading(text, s)] + [len(sentences)]
    for here, following in pairwise(starts):
        under = range(here + 1, following)
        if not any(terms(sentences[k]) for k in under):
            for k in under:
                if _WORD.search(sentences[k].text(text)):
                    lent[k] = terms(sentences[here])
    scored = [
        (100 * touched(s) + len(terms(s) | lent[idx]) * 10 + _substance(text, s), -idx)
        for idx, s in enumerate(sentences)
    ]
    _, neg_idx = max(scored)
    lo = hi = -neg_idx
    para = _paragraph_of(text, sentences[lo])

    def fits(a: int, b: int) -> bool:
        return sentences[b].end - sentences[a].start <= max_chars and b - a < max_sentences

    def joinable(k: int) -> bool:
        if not 0 <= k < len(sentences):
            return False
        return para[0] <= sentences[k].start and sentences[k].end <= para[1]

    def useful(k: int) -> bool:
        return bool(terms(sentences[k])) and _substance(text, sentences[k]) > 0

    while True:
        grown = False
        # A neighbour joins for the rule's words only if it says something too: "Дякую
        # Туреччині за підтримку" holds a name and adds nothing.
        if joinable(hi + 1) and useful(hi + 1) and fits(lo, hi + 1):
            hi += 1
            grown = True
        if joinable(lo - 1) and useful(lo - 1) and fits(lo - 1, hi):
            lo -= 1
            grown = True
        if not grown:
            break
    quoted = text[sentences[lo].start : sentences[hi].end]
    if not has_figure(quoted):
        # The figure is often in the sentence next to the rule's words ("Учора відновили
        # живлення для 210 тисяч родин. Ремонт підстанцій триває."): it joins.
        if joinable(hi + 1) and fits(lo, hi + 1) and _carries_figure(text, sentences[hi + 1]):
            hi += 1
        elif joinable(lo - 1) and fits(lo - 1, hi) and _carries_figure(text, sentences[lo - 1]):
            lo -= 1
    quoted_sentences = sentences[lo : hi + 1]
    if (
        shown
        and not any(touched(s) or terms(s) for s in quoted_sentences)
        and sum(_substance(text, s) for s in quoted_sentences) <= 0
    ):
        return None
    return sentences[lo].start, sentences[hi].end


def _is_heading(text: str, s: Sentence) -> bool:
    """A line of its own with no sentence end and under 14 words: a heading, a topic."""
    rest_of_line = text[s.end :].split("\n", 1)[0]
    own_line = (s.start == 0 or text[s.start - 1] == "\n") and not rest_of_line.strip()
    body = s.text(text)
    # A flag after the exclamation mark does not make "Обмін відбувся! 🇺🇦" a heading.
    last = body.rstrip("".join(ch for ch in body if is_emoji_part(ch)) + " \t\u00a0")[-1:]
    words = len(_WORD.findall(body))
    return own_line and last not in _TERMINALS and 0 < words < 14


def _carries_figure(text: str, s: Sentence) -> bool:
    return has_figure(s.text(text)) and _substance(text, s) > 0


# -- quote choice by substance --------------------------------------------------------------

_TIME_OR_DATE = re.compile(
    r"\b\d{1,2}[:.]\d{2}(?:[.]\d{2,4})?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
)
_FIGURE = re.compile(r"\d")
_DATELINE = re.compile(
    r"(станом на|по состоянию на|as of|оперативна інформація|оперативная информация)",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\W*(доброго (ранку|дня|вечора)|добрий (день|вечір|ранок)|добрий|шановн|дорогі|друзі|"
    r"вітаю|привіт|доброе утро|добрый (день|вечер)|доброго утра|уважаем|дорогие|друзья|"
    r"good (morning|afternoon|evening)|dear|hello)",
    re.IGNORECASE,
)
_THANKS = re.compile(r"^\W*(дякую|дякуємо|спасибо|благодарю|благодарим|thank)", re.IGNORECASE)
_LINK_TAIL = re.compile(
    r"(https?://|t\.me/|www\.|^\W*(детальніше|докладніше|більше|подробнее|читайте|дивіться|"
    r"смотрите|read more|more|details|watch)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’ʼ-][^\W\d_]+)*")


def has_figure(sentence: str) -> bool:
    """A number that is news (40 prisoners, 156 clashes), not a clock time or a date."""
    return _FIGURE.search(_TIME_OR_DATE.sub(" ", sentence)) is not None


def _substance(text: str, s: Sentence) -> float:
    """How much a sentence says on its own: figures and length up, datelines, greetings,
    headings, link tails and name-only sentences down."""
    body = s.text(text)
    words = _WORD.findall(body)
    score = min(len(words), 25) / 5
    if has_figure(body):
        score += 4
    if _DATELINE.search(body):
        score -= 12
    if _GREETING.search(body):
        score -= 12
    if _THANKS.search(body):
        score -= 6
    if _LINK_TAIL.search(body) or body.rstrip().endswith(":"):
        score -= 12
    if _is_heading(text, s) or not words:
        score -= 8  # a heading, or a line of emoji
    rest = words[1:]  # the first word is capitalised anyway
    # A word in capitals is an acronym or a post typed in capitals, not a name.
    capitals = sum(1 for w in rest if w[0].isupper() and not w.isupper())
    if rest and len(words) <= 6 and capitals * 2 >= len(rest):
        score -= 6  # a name, a signature, a place
    return score
