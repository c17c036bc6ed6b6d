"""What a post's picture says, in a draft: the words a rule found in the image (OCR text) are
reported as "the image reads: …", never put in the official's mouth."""

from __future__ import annotations

from collections.abc import Sequence

from bot.drafting import texts
from bot.drafting.draft import styled_runs
from bot.drafting.html import Run, join_runs
from bot.drafting.quotes import fit_quote, style_quote
from bot.drafting.sentences import SpanLike, choose_quote


def image_runs(ocr_text: str, spans: Sequence[SpanLike], lang: str) -> list[Run]:
    """ "The image reads: «…»" with the sentence of the OCR text the rule matched (its words
    highlighted); [] when the text has no sentence."""
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
