"""Words a printed page hyphenated at the end of a line, whole again.

Pure. A photographed document breaks words where its lines end ("госпі-" / "талів"), and
Tesseract keeps the break: the post's picture then read "госпі- талів", a quote printed it so,
and neither matching nor search found "госпіталів". A hyphen at a line's end is dropped when
the halves make a word the dictionaries know (pymorphy3 for uk/ru, lemminflect's list for en)
and kept, with no space, when it joins a compound ("військово-морський", "state-owned") or a
name ("Івано-Франківськ").
"""

from __future__ import annotations

import re
from bisect import bisect_left

from bot.matching.lemmas import known_word

# A hyphen (or a soft hyphen, or the "¬" some OCR prints for one) right after a letter ends
# the line: the word's last part before it. A hyphen after a space is a dash.
_BROKEN = re.compile(r"([^\W\d_]+)([-\u00ad\u2010\u2011¬])$")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
# A hyphen only a break could put there: the word goes on with no mark at all.
_SOFT = frozenset("\u00ad¬")
# "військово- та цивільний": a compound's first half left hanging before a conjunction.
_CONJUNCTIONS = frozenset(["та", "і", "й", "и", "або", "чи", "или", "and", "or"])


def rejoin(line: str, following: str) -> str | None:
    """`line`, ending in a hyphen, and the `following` line as one: the hyphen dropped where
    it broke a word ("…госпі-", "талів у…" -> "…госпіталів у…"), kept with no space where
    it joins two ("військово-", "морський", "Івано-", "Франківськ", "COVID-", "19"); None
    when the hyphen is no word's (a dash, a next line that starts with no letter or figure)."""
    how = _break(line, following)
    if how is None:
        return None
    if how == "drop":
        return line[:-1] + following
    if how == "keep":
        return line[:-1] + "-" + following
    return f"{line} {following}"


def _break(line: str, following: str) -> str | None:
    """How a line ending in a hyphen goes on: "drop" the hyphen and the break, "keep" the
    hyphen (as "-"), "space" (the break is a space), or None (the break stays)."""
    m = _BROKEN.search(line)
    if m is None or not following:
        return None
    head, mark = m.group(1), m.group(2)
    if mark in _SOFT:
        return "drop"
    if following[0].isdigit():
        return "keep"
    word = _FIRST_WORD.match(following)
    if word is None:
        return None
    tail = word.group()
    if tail.casefold() in _CONJUNCTIONS:
        return "space"
    if tail[0].isupper():
        return "keep"  # a name's parts: "Івано-Франківськ"
    if known_word(head + tail):
        return "drop"
    if known_word(f"{head}-{tail}") or (known_word(head) and known_word(tail)):
        return "keep"
    # Halves no dictionary knows, together or apart: a word it lacks (a surname), broken.
    return "drop"


def rejoin_lines(text: str) -> tuple[str, list[int]]:
    """`text` with every line that ends in a broken word joined to the next (`rejoin`), and
    the offsets in `text` of the characters left out (a hyphen, a line break), in order, so
    that offsets into `text` can be carried over (`moved`)."""
    if "\n" not in text:
        return text, []
    lines = text.split("\n")
    chars = list(text)
    removed: list[int] = []
    at = 0
    for n, line in enumerate(lines[:-1]):
        at += len(line)  # the break after this line
        how = _break(line, lines[n + 1])
        if how == "drop":
            removed += [at - 1, at]
        elif how == "keep":
            chars[at - 1] = "-"
            removed.append(at)
        elif how == "space":
            chars[at] = " "
        at += 1
    gone = set(removed)
    return "".join(c for i, c in enumerate(chars) if i not in gone), removed


def moved(offset: int, removed: list[int]) -> int:
    """An offset into the text `rejoin_lines` read, in the text it made."""
    return offset - bisect_left(removed, offset)
