"""A quote past QUOTE_CHARS (one sentence that long: no sentence end for the splitter to stop
at) is cut around the rule's words, at spaces, marked "…", measured as Telegram HTML, so an
alert quoting it stays one message whatever the text escapes to. Texts written for these
tests."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest

from bot.drafting.alert import compose_alert
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.html import MESSAGE_LIMIT, plain, utf16_len
from bot.drafting.image import image_runs
from bot.drafting.quotes import QUOTE_CHARS
from bot.matching import Span
from tests.drafting.test_compose import EVENING, source, stored

WORD = "водогін"


def with_word(filler: str, times: int) -> tuple[str, tuple[Span, ...]]:
    text = "Зведення " + filler * times + f"{WORD} " + filler * times + "кінець"
    at = text.index(WORD)
    return text, (Span(at, at + len(WORD), WORD),)


@pytest.mark.parametrize("filler", ["<&> ", "&amp; ", "🚰🚰 <b> ", "й\u0306й\u0306 & ", "слово "])
@pytest.mark.parametrize("lang", ["uk", "ru", "en"])
def test_an_update_quoting_it_twice_is_one_message_whatever_it_escapes_to(
    filler: str, lang: str
) -> None:
    text, spans = with_word(filler, 4000)
    options = DraftOptions(lang=lang, tz="Europe/Kyiv", spans=spans, now=EVENING)
    for update in (False, True):
        payload = compose_alert("new", stored(text), source(), options, update=update, rule=WORD)
        (message,) = payload["messages"]
        assert utf16_len(message["html"]) <= MESSAGE_LIMIT
        # Every entity whole: the text escaped after it was cut, never the other way round.
        assert not re.search(r"&(?!amp;|lt;|gt;)", message["html"])
        assert f"<b>{WORD}</b>" in message["html"]
        assert "…" in html.unescape(message["html"])


def test_the_draft_names_the_words_it_quotes() -> None:
    """`quote` (what a translation and `wirewatch draft --json` get) is the stretch the draft
    prints, not the 16,000 characters around it."""
    text, spans = with_word("черговий звіт ", 1200)
    draft = build_draft(stored(text), source(), DraftOptions(lang="uk", tz="UTC", spans=spans))
    assert draft.styled is not None and draft.quote is not None
    assert WORD in draft.quote and len(draft.quote) <= QUOTE_CHARS
    assert text[draft.quote_start : draft.quote_end] == draft.quote
    assert draft.styled.text == "«…" + draft.quote + "…»."
    assert draft.spans == ((spans[0].start, spans[0].end),)


def test_a_word_with_no_space_is_cut_between_letters_never_inside_one() -> None:
    glued = "а\u0301б" * 3000  # an accented letter: a letter and its combining mark
    text = f"{glued}{WORD}{glued}"
    at = text.index(WORD)
    draft = build_draft(
        stored(text),
        source(),
        DraftOptions(lang="uk", tz="UTC", spans=(Span(at, at + len(WORD), WORD),)),
    )
    assert draft.styled is not None
    body = draft.styled.text.removeprefix("«…").removesuffix("…».")
    assert WORD in body and len(body) <= QUOTE_CHARS
    assert unicodedata.combining(body[0]) == 0  # not an accent without its letter
    assert body in text


def test_the_text_of_a_picture_is_cut_the_same_way() -> None:
    """OCR text seldom has a full stop: "The image reads" quoted a whole poster."""
    text, spans = with_word("ГРАФІК ПОДАЧІ ВОДИ ", 600)
    shown = plain(image_runs(text, spans, "uk"))
    assert WORD in shown and "…" in shown
    assert len(shown) <= QUOTE_CHARS + 40


def test_a_quote_cut_inside_a_quotation_keeps_its_marks_balanced() -> None:
    # The cut kept the closing mark of a quotation whose opening it left out: the quote read
    # «…кінець» слово…», as if it ended mid-way.
    from bot.drafting.quotes import MARKS, QUOTE_CHARS, shorten_quote, style_quote

    text = (
        "Він заявив: «" + "слово " * 150 + "„дуже " + "слово " * 100 + "важливо "
        + "слово " * 100 + "кінець“ " + "слово " * 150 + "»"
    )  # fmt: skip
    at = text.index("важливо")
    for lang in ("uk", "en"):
        left, right, inner_left, inner_right = MARKS[lang]
        cut = shorten_quote(style_quote(text, 0, len(text), lang), QUOTE_CHARS, [(at, at + 7)])
        inside = cut.text[1 : -1 - len(cut.after)]
        depth = 0
        for ch in inside:
            depth += ch in (left, inner_left)
            depth -= ch in (right, inner_right)
            assert depth >= 0, cut.text
        assert depth == 0, cut.text
