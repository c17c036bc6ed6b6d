"""What a post's picture says, in a draft: the words a rule found in the image (OCR text) are
reported as "the image reads: …", never put in the official's mouth."""

from __future__ import annotations

from collections.abc import Sequence

from bot.drafting import texts
from bot.drafting.draft import styled_runs
from bot.drafting.html import Run, join_runs
from bot.drafting.hyphens import moved, rejoin_lines
from bot.drafting.quotes import fit_quote, style_quote
from bot.drafting.sentences import Sentence, SpanLike, choose_quote


def image_runs(ocr_text: str, spans: Sequence[SpanLike], lang: str) -> list[Run]:
    """ "The image reads: «…»" with the sentence of the OCR text the rule matched (its words
    highlighted); [] when the text has no sentence. A word the page broke at a line's end is
    whole (a picture read before Tesseract's text was rejoined keeps "госпі-" / "талів")."""
    ocr_text, removed = rejoin_lines(ocr_text)
    if removed:
        spans = [Sentence(moved(s.start, removed), moved(s.end, removed)) for s in spans]
    ocr_text = unwrapped(ocr_text)
    chosen = choose_quote(ocr_text, spans)
    if chosen is None:
        return []
    start, end = chosen
    marks = [(s.start, s.end) for s in spans if s.start < end and s.end > start]
    # A picture's text often has no sentence end at all: cut as a draft's quote is.
    styled, _, _ = fit_quote(style_quote(ocr_text, start, end, lang), start, end, (), marks)
    # i18n: the words a rule found in the post's picture follow, quoted.
    label = texts.words(lang).gettext("The image reads")
    return join_runs(f"{label}: ", styled_runs(styled, marks))


# What ends a sentence on its line: the next line starts another, whatever its case.
_SENTENCE_ENDS = frozenset(".!?…")


def unwrapped(ocr_text: str) -> str:
    """The picture's text with each line break that only wraps a sentence made a space: the
    next line goes on in lower case ("…госпіталів\nу Харківській області") and the line
    before ends in no stop. A photographed page breaks its lines where the paper does, and
    the quote stopped there. The same length, so offsets into the text still hold."""
    chars: list[str] | None = None
    at = ocr_text.find("\n")
    while at != -1:
        b, a = at - 1, at + 1
        while b >= 0 and ocr_text[b] in " \t":
            b -= 1
        while a < len(ocr_text) and ocr_text[a] in " \t":
            a += 1
        before = ocr_text[b] if b >= 0 else ""
        after = ocr_text[a : a + 1]
        if before and before not in _SENTENCE_ENDS and after.islower():
            chars = chars if chars is not None else list(ocr_text)
            chars[at] = " "
        at = ocr_text.find("\n", at + 1)
    return ocr_text if chars is None else "".join(chars)
