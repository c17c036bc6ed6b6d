"""Text normalisation shared by matching, indexing and search.

One function decides what a word "is" so that the matcher, the FTS `norm` column and search queries
always agree: format characters (Unicode Cf: soft hyphen, zero-width space, direction marks)
removed, NFKC, case-fold, one apostrophe, Latin look-alikes inside Cyrillic words made Cyrillic,
diacritics stripped from Latin letters only (never from й, ї, ё).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Apostrophes people (and keyboards) use inside Ukrainian words; the uk dictionary knows only "'".
APOSTROPHES = "'’ʼ`ʹ′‘"
_APOS_TABLE = str.maketrans(dict.fromkeys(APOSTROPHES, "'"))

# A word: letters and digits (not "_", which SQLite's unicode61 treats as a separator), combining
# marks (decomposed й, stress accents), and apostrophes between letters (м'ясо, O'Brien).
_WORD = r"[^\W_]"
_MARK = "\u0300-\u036f"
TOKEN_RE = re.compile(
    rf"(?:{_WORD}|[{_MARK}])+(?:[{re.escape(APOSTROPHES)}](?:{_WORD}|[{_MARK}])+)*"
)

# Where a sentence ends: words on either side of one are not a phrase. It never matches inside
# a word (none of these characters is part of one).
SENTENCE_BREAK_RE = re.compile(r"[.!?;…]\s|\n")

# Format characters (Unicode category Cf, Unicode 14; tests/matching checks the list against
# unicodedata). They are invisible, so a soft hyphen or a zero-width space inside "Умєров" must
# not split the word nor hide it: a word runs on across them, and normalisation removes them.
FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_FORMAT_RE = re.compile(f"[{FORMAT_CHARS}]")
_FORMAT_TABLE = {
    cp: None
    for lo, hi in re.findall(r"(.)(?:-(.))?", FORMAT_CHARS)
    for cp in range(ord(lo), ord(hi or lo) + 1)
}
_CHUNK = rf"(?:{_WORD}|[{_MARK}])+(?:[{FORMAT_CHARS}]+(?:{_WORD}|[{_MARK}])+)*"
_FORMAT_TOKEN_RE = re.compile(
    rf"{_CHUNK}(?:[{FORMAT_CHARS}]*[{re.escape(APOSTROPHES)}][{FORMAT_CHARS}]*{_CHUNK})*"
)


def strip_format(text: str) -> str:
    """`text` without format characters (Cf)."""
    return text.translate(_FORMAT_TABLE) if _FORMAT_RE.search(text) else text


# The same words when a text has no combining marks (nearly always), about twice as fast.
_PLAIN_TOKEN_RE = re.compile(rf"{_WORD}+(?:[{re.escape(APOSTROPHES)}]{_WORD}+)*")
_MARK_RE = re.compile(f"[{_MARK}]")


# Either kind of character that needs the slower patterns: one scan of a text tells whether
# it has any (nearly no post does).
_SPECIAL_RE = re.compile(f"[{FORMAT_CHARS}{_MARK}]")


def token_re(text: str) -> re.Pattern[str]:
    """The word pattern to use for `text`; all of them find the same words in it."""
    if not _SPECIAL_RE.search(text):
        return _PLAIN_TOKEN_RE
    if _FORMAT_RE.search(text):
        return _FORMAT_TOKEN_RE
    return TOKEN_RE if _MARK_RE.search(text) else _PLAIN_TOKEN_RE


# The same patterns as one group: `split` gives gap, word, gap, ..., gap in one pass.
_SPLITTERS = {
    rx: re.compile(f"({rx.pattern})") for rx in (TOKEN_RE, _PLAIN_TOKEN_RE, _FORMAT_TOKEN_RE)
}


def split_words(text: str) -> tuple[list[str], list[str]]:
    """(words, gaps): the words `token_re(text)` finds and the text around them (one more gap
    than words: before the first, between each two, after the last; gaps may be empty)."""
    # The plain pattern first: no character it leaves out of words is a format character or
    # a mark, so if the gaps have none the text has none, and the plain words are the words.
    # Scanning the gaps is cheaper than scanning the text first.
    pieces = _SPLITTERS[_PLAIN_TOKEN_RE].split(text)
    gaps = pieces[0::2]
    if _SPECIAL_RE.search("".join(gaps)):
        pieces = _SPLITTERS[token_re(text)].split(text)
        gaps = pieces[0::2]
    return pieces[1::2], gaps


# Words normalize_word may take the short way with: only Cyrillic (no look-alike can hide in a
# word with no Latin letter), or only ASCII letters and digits; no apostrophe, no mark.
_PLAIN_WORD_RE = re.compile(
    r"[\u0410-\u044f\u0451\u0454\u0456\u0457\u0491\u0401\u0404\u0406\u0407\u0490]+|[A-Za-z0-9]+"
)

_CYR_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")

# Latin letters that look like Cyrillic ones; applied only inside words that contain Cyrillic,
# before case-folding so that H -> Н and not h -> ?
_LOOKALIKES = str.maketrans(
    {
        "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М",
        "O": "О", "P": "Р", "T": "Т", "X": "Х", "Y": "У",
        "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у",
        "Ï": "Ї", "ï": "ї", "Ë": "Ё", "ë": "ё",
    }
)  # fmt: skip

# Latin letters NFD does not decompose.
_LATIN_EXTRA = str.maketrans(
    {"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe"}
)

# Letters that decompose into a base and marks we may drop: Latin with diacritics, Greek and
# Cyrillic with accents (ѐ, ѝ), and bare combining marks. Plain Cyrillic skips the slow path.
_NEEDS_FOLD_RE = re.compile("[\u00c0-\u036f\u0386-\u03ce\u0400\u040d\u0450\u045d\u1e00-\u1fff]")

# Marks kept on Cyrillic letters: breve (й, ў) and diaeresis (ї, ё). Stress accents go.
_CYRILLIC_KEEP = {"\u0306", "\u0308"}


def _fold_marks(word: str) -> str:
    """Drop diacritics from Latin letters and stress marks from Cyrillic ones."""
    decomposed = unicodedata.normalize("NFD", word)
    out: list[str] = []
    base_cyrillic = False
    for ch in decomposed:
        if unicodedata.combining(ch):
            if base_cyrillic and ch in _CYRILLIC_KEEP:
                out.append(ch)
            continue
        base_cyrillic = "\u0400" <= ch <= "\u04ff"
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


_APOS_RUN_RE = re.compile("''+")
_SPACE_RE = re.compile(r"\s+")


def normalize_word_uncached(raw: str) -> str:
    """The normal form of one word as TOKEN_RE finds it: its own normal form, with no space
    (what a stored rule is checked against when it is read back)."""
    if _PLAIN_WORD_RE.fullmatch(raw):
        # Nearly every word: plain Cyrillic or ASCII, where lower() is the whole job.
        return raw.lower()
    word = unicodedata.normalize("NFKC", strip_format(raw)).translate(_APOS_TABLE)
    if _SPACE_RE.search(word):
        word = _SPACE_RE.sub("", word)  # ﷺ and a few ligatures spell out several words
    if _CYR_RE.search(word) and _LATIN_RE.search(word):
        word = word.translate(_LOOKALIKES)
    word = word.casefold().translate(_LATIN_EXTRA)
    if not word.isascii() and _NEEDS_FOLD_RE.search(word):
        # Again after: a mark folded away may leave a letter the table spells out (ǣ -> æ).
        word = _fold_marks(word).translate(_LATIN_EXTRA)
    if "''" in word:
        word = _APOS_RUN_RE.sub("'", word)  # ʼ is a letter to Unicode: "пʼʼять" is one word
    # ʼ is a letter to Unicode, so a word may start or end with it: "ʼслово" is слово.
    return word.strip("'")


# Analysis caches whole words itself; this cache serves rules, queries and normalize().
normalize_word = lru_cache(maxsize=16_384)(normalize_word_uncached)


def normalize(text: str) -> str:
    """Cf removed, NFKC, case-fold, apostrophes as ', look-alikes fixed, diacritics folded."""
    out: list[str] = []
    pos = 0
    for m in token_re(text).finditer(text):
        if m.start() > pos:
            out.append(normalize_gap(text[pos : m.start()]))
        out.append(normalize_word(m.group()))
        pos = m.end()
    if pos < len(text):
        out.append(normalize_gap(text[pos:]))
    return "".join(out)


# Symbols outside words whose compatibility form holds letters or digits (Unicode 14: every
# character that is no word character and whose NFKC has one; tests/matching checks the list
# against unicodedata): № -> "No", ™ -> "TM", ℡ -> "TEL", ℃ -> "°C", ㎞ -> "km", Ⓐ, ⒜, ㈜.
# The matcher sees no word in them ("№12" is the word 12), so the text between words keeps
# them as a break, a space: NFKC made "no12" of "№12" in the `norm` column, one token, and
# `=12` or `12*` missed the post on both back ends while the matcher found it.
EXPANDING_SYMBOLS = (
    "₨℀℁℃℅℆℉№℠-™℻⒜-ⓩ⺟⻳⼀-⿕㆖-㆟㈀-㈞㈪-㉇㉐㉠-㉾㊊-㊰㋀-㏿﷼🄐-🄮🄰-🅏🅪-🅬🆐🈀-🈂🈐-🈻🉀-🉈🉐🉑"
)
_EXPANDING_RE = re.compile(f"[{EXPANDING_SYMBOLS}]")


def normalize_gap(gap: str) -> str:
    """What normalize does to the text between words: never a word character (see
    EXPANDING_SYMBOLS)."""
    gap = strip_format(gap)
    if _EXPANDING_RE.search(gap):
        gap = _EXPANDING_RE.sub(" ", gap)
    return unicodedata.normalize("NFKC", gap).translate(_APOS_TABLE).casefold()


def words(text: str) -> list[str]:
    """Normalised words of `text` in order (a hyphenated name gives its parts)."""
    found = (normalize_word(m.group()) for m in token_re(text).finditer(text))
    return [w for w in found if w]
