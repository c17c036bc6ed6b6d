"""What an edit changed: a word-level diff of two texts, rendered for an edit alert.

Pure functions. Long rewrites are cut to `MAX_HUNKS` stretches of at most `MAX_PIECE` characters
each and `MAX_SHOWN` in all; the full text is one tap away ("Full text").
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from rapidfuzz.distance import Levenshtein

from bot.drafting import texts
from bot.drafting.html import Run, join_runs

DiffKind = Literal["equal", "delete", "insert"]

MAX_HUNKS = 8  # an edit that rewrote the whole post is read in full via "Full text"
MAX_PIECE = 300  # characters of one removed or added stretch shown in the diff
# Characters of the diff shown in all. Changes a few words apart run into one stretch that the
# two caps above never reach (every figure of a long list updated): about a phone screen is
# shown, the changes after it counted.
MAX_SHOWN = 1200
# difflib looks for the longest run of words the two texts share, then again on each side of
# it: each look walks, for every word of the old text, every place the new text has it. A text
# that repeats a few words (a row of "+ + +", a line of flags, a table of zeros) makes each look
# cost the product of their counts, and there is a look per shared run: an edit of a
# 4,096-character post of one repeated word took 80 s (140 s with `changed_spans`), the
# drafter's whole loop stopped meanwhile. Beyond this many pairs of equal words, the two texts
# are aligned by rapidfuzz's Levenshtein (bit-parallel, about a millisecond for 2,000 words);
# below it, difflib's longest runs read better and stay as they were. At the bound, 2,000 words
# with a change every third word cost difflib 0.1-0.3 s (a long post's commas, "і" and "в"
# make 2,000-4,000 pairs); at 20,000 pairs they cost 0.8 s.
DIFFLIB_PAIRS = 5_000

Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]


@dataclass(frozen=True, slots=True)
class DiffPiece:
    kind: DiffKind
    text: str
    space_before: bool = True  # the text had whitespace before this piece


@dataclass(frozen=True, slots=True)
class Hunk:
    pieces: tuple[DiffPiece, ...]
    at_start: bool  # the hunk begins at the first word of the text (no leading "…")
    at_end: bool


@dataclass(frozen=True, slots=True)
class WordDiff:
    hunks: tuple[Hunk, ...]
    more: int  # changes not shown (beyond MAX_HUNKS or MAX_SHOWN)

    def __bool__(self) -> bool:
        return bool(self.hunks)


# Words (with inner hyphens and apostrophes) and single punctuation marks: "будинки." and
# "будинки" then differ only by the full stop, not as whole words. A web address, and a figure
# with its inner stops, commas, colons or slashes (10:00, 1.5, 12.05.2025, 24/7), is one token:
# an edit of it is shown whole, not "[-10-] {+11+}:[-00-] {+30+}".
_TOKEN = re.compile(r"https?://\S*[^\s.,;:!?»”)\]]|\d+(?:[.,:/]\d+)+|\w+(?:[-'’ʼ]\w+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    space_before: bool


def _tokens(text: str) -> list[_Tok]:
    return [
        _Tok(m.group(), m.start() > 0 and text[m.start() - 1].isspace())
        for m in _TOKEN.finditer(text)
    ]


def _join(tokens: Sequence[_Tok], *, clip: bool = False) -> str:
    """Tokens back to text with their own spacing. With `clip`, a stretch longer than MAX_PIECE
    is cut at a word and marked "…": the diff display only (the quote is cut only past
    quotes.QUOTE_CHARS)."""
    out: list[str] = []
    size = 0
    for k, tok in enumerate(tokens):
        piece = (" " if k and tok.space_before else "") + tok.text
        if clip and out and size + len(piece) > MAX_PIECE:
            return "".join(out) + " …"
        out.append(piece)
        size += len(piece)
    return "".join(out)


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """How to turn the words `a` into `b`, as difflib's `get_opcodes` says it, in bounded time
    (DIFFLIB_PAIRS)."""
    in_b = Counter(b)
    if sum(in_b[w] for w in a) <= DIFFLIB_PAIRS:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [
        cast(Opcode, (o.tag, o.src_start, o.src_end, o.dest_start, o.dest_end))
        for o in Levenshtein.opcodes(a, b)
    ]


class _Given(difflib.SequenceMatcher[str]):
    """difflib's grouping of changes with their context (`get_grouped_opcodes`) over opcodes
    worked out elsewhere (`opcodes`)."""

    def __init__(self, codes: list[Opcode]) -> None:
        super().__init__(None, [], [], autojunk=False)
        self._codes = codes

    def get_opcodes(self) -> list[Opcode]:
        return self._codes


def word_diff(old: str, new: str, *, context: int = 4) -> WordDiff:
    """What an edit changed, word by word (difflib over whitespace-separated words).

    One hunk per changed region with up to `context` unchanged words either side; whitespace
    differences alone are no change (empty result when the words are the same).
    """
    a = _tokens(old)
    b = _tokens(new)
    codes = opcodes([t.text for t in a], [t.text for t in b])
    # difflib trims the first and last unchanged stretches of the list it is given in place.
    groups = list(_Given(list(codes)).get_grouped_opcodes(context))
    if not groups or all(op == "equal" for g in groups for op, *_ in g):
        return WordDiff((), 0)
    groups = _whole_words(groups, codes, a, context)
    hunks: list[Hunk] = []
    more = 0  # changes left out: each removed, added or replaced stretch counts one
    room = MAX_SHOWN
    for group in groups:
        if len(hunks) >= MAX_HUNKS or room <= 0:
            more += _changes(group)
            continue
        pieces: list[DiffPiece] = []
        cut = False
        for k, (op, i1, i2, j1, j2) in enumerate(group):
            if room <= 0:
                more += _changes(group[k:])
                cut = True
                break
            if op == "equal":
                pieces.append(DiffPiece("equal", _join(a[i1:i2]), a[i1].space_before))
                room -= len(pieces[-1].text)
                continue
            # A changed stretch also costs its marks ([-…-] {+…+} when pasted) and a space.
            if i2 > i1:
                pieces.append(DiffPiece("delete", _join(a[i1:i2], clip=True), a[i1].space_before))
                room -= len(pieces[-1].text) + 5
            if j2 > j1:
                pieces.append(DiffPiece("insert", _join(b[j1:j2], clip=True), b[j1].space_before))
                room -= len(pieces[-1].text) + 5
        first, last = group[0], group[-1]
        at_start = first[1] == 0 and first[3] == 0
        at_end = not cut and last[2] == len(a) and last[4] == len(b)
        hunks.append(Hunk(tuple(pieces), at_start, at_end))
    return WordDiff(tuple(hunks), more)


def _whole_words(
    groups: list[list[tuple[str, int, int, int, int]]],
    codes: list[Opcode],
    a: Sequence[_Tok],
    context: int,
) -> list[list[tuple[str, int, int, int, int]]]:
    """difflib's context counts tokens, and a clock, a figure or a web address is several
    ("10", ":", "00"): the context around a change began or ended inside one ("…:00.
    Повернуться [-40-]"). Here it holds `context` words and starts and ends where the text has
    a space, within the unchanged stretch it was cut from."""
    # The unchanged stretches difflib cut each hunk's context from, by either end.
    begins = {(i2, j2): i1 for op, i1, i2, j1, j2 in codes if op == "equal"}
    ends = {(i1, j1): i2 for op, i1, i2, j1, j2 in codes if op == "equal"}
    cap = 3 * context + 24  # tokens: past this (a long run with no space) keep difflib's cut
    out: list[list[tuple[str, int, int, int, int]]] = []
    floor = 0  # the previous hunk's end: hunks never overlap
    for group in groups:
        group = list(group)
        op, i1, i2, j1, j2 = group[0]
        if op == "equal":
            low = max(begins.get((i2, j2), i1), floor)
            k, words = i2, 0
            while k > low and (words < context or not a[k].space_before) and i2 - k < cap:
                k -= 1
                words += _starts_word(a[k])
            if i2 - k >= cap:
                k = i1
            group[0] = (op, k, i2, j1 - (i1 - k), j2)
        op, i1, i2, j1, j2 = group[-1]
        if op == "equal" and len(group) > 1:
            high = ends.get((i1, j1), i2)
            k, words = i1, 0
            while k < high and (words < context or not a[k].space_before) and k - i1 < cap:
                words += _starts_word(a[k])
                k += 1
            if k - i1 >= cap:
                k = i2
            group[-1] = (op, i1, k, j1, j2 + (k - i2))
        floor = group[-1][2]
        out.append(group)
    return out


def _starts_word(tok: _Tok) -> bool:
    """A word after a space: "10:00" and a web address count once."""
    return tok.space_before and tok.text[0].isalnum()


def _changes(opcodes: Sequence[tuple[str, int, int, int, int]]) -> int:
    return sum(1 for op, *_ in opcodes if op != "equal")


def _space_between(prev: DiffPiece, piece: DiffPiece) -> bool:
    # A removal and its replacement stand at the same place; a space keeps them apart.
    return piece.space_before or (prev.kind == "delete" and piece.kind == "insert")


def diff_runs(diff: WordDiff, lang: str = "en") -> list[Run]:
    """Hunks as runs: removed words struck through, added words underlined, one hunk a line."""
    parts: list[Sequence[Run] | str] = []
    for n, hunk in enumerate(diff.hunks):
        if n:
            parts.append("\n")
        if not hunk.at_start:
            parts.append("…")
        for k, piece in enumerate(hunk.pieces):
            if k and _space_between(hunk.pieces[k - 1], piece):
                parts.append(" ")
            if piece.kind == "equal":
                parts.append(piece.text)
            else:
                parts.append([Run(piece.text, "s" if piece.kind == "delete" else "u")])
        if not hunk.at_end:
            parts.append("…")
    if diff.more:
        parts.append("\n" + _more(lang, diff.more))
    return join_runs(*parts)


def diff_plain(diff: WordDiff, lang: str = "en") -> str:
    """Hunks in wdiff notation: [-removed-] {+added+}."""
    lines = []
    for hunk in diff.hunks:
        words = []
        for k, piece in enumerate(hunk.pieces):
            if k and _space_between(hunk.pieces[k - 1], piece):
                words.append(" ")
            if piece.kind == "equal":
                words.append(piece.text)
            elif piece.kind == "delete":
                words.append(f"[-{piece.text}-]")
            else:
                words.append(f"{{+{piece.text}+}}")
        lead = "" if hunk.at_start else "…"
        tail = "" if hunk.at_end else "…"
        lines.append(lead + "".join(words) + tail)
    if diff.more:
        lines.append(_more(lang, diff.more))
    return "\n".join(lines)


def changed_spans(old: str, new: str) -> list[tuple[int, int]]:
    """Where in `new` words were added or replaced by an edit (offsets into `new`)."""
    a = [m.group() for m in _TOKEN.finditer(old)]
    b_matches = list(_TOKEN.finditer(new))
    out: list[tuple[int, int]] = []
    for op, _i1, _i2, j1, j2 in opcodes(a, [m.group() for m in b_matches]):
        if op in ("replace", "insert") and j2 > j1:
            out.append((b_matches[j1].start(), b_matches[j2 - 1].end()))
        elif op == "delete" and b_matches:
            # A removal marks the sentence it happened in.
            at = b_matches[min(j1, len(b_matches) - 1)]
            out.append((at.start(), at.end()))
    return out


def _more(lang: str, n: int) -> str:
    """ "…and 3 more changes": the changed stretches left out of the diff."""
    return texts.words(lang).ngettext("…and {n} more change", "…and {n} more changes", n)
