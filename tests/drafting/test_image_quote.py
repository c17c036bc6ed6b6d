"""What a picture reads, quoted in a draft: a photographed document's lines are its layout,
not its sentences. Texts written for these tests."""

from __future__ import annotations

import pytest

from bot.drafting.html import plain
from bot.drafting.image import image_runs
from bot.matching import match_rule, parse_rule


def reads(ocr_text: str, rule: str, lang: str = "uk") -> str:
    found = match_rule(parse_rule(rule), ocr_text, "health_demo")
    assert found is not None
    return plain(image_runs(ocr_text, found.spans, lang))


def test_a_line_wrapped_in_the_picture_is_quoted_whole() -> None:
    # A photographed order read "НАКАЗ № 412 / Про розгортання мобільних госпіталів / у
    # Харківській області", and the draft quoted «Про розгортання мобільних госпіталів»: the
    # place was on the next line of the paper, and the quote stopped where the line did.
    text = "НАКАЗ № 412\nПро розгортання мобільних госпіталів\nу Харківській області"
    assert reads(text, "госпіталь") == (
        "На зображенні написано: «Про розгортання мобільних госпіталів у Харківській області»."
    )
    assert reads(text, "госпіталь", "en") == (
        "The image reads: “Про розгортання мобільних госпіталів у Харківській області.”"
    )


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        # A new line with a capital is a line of its own (a heading, a list item).
        (
            "Графік відключень\nЧерга 1: 08:00-12:00\nЧерга 2: 12:00-16:00",
            "Черга 1: 08:00-12:00",
        ),
        # A sentence that ended on its line stays ended.
        ("Відключень не буде.\nграфік на сайті", "Відключень не буде."),
    ],
)
def test_a_line_that_starts_or_ends_a_sentence_stays_one(text: str, quoted: str) -> None:
    assert f"«{quoted.rstrip('.')}»." in reads(text, "черга OR відключення")


def test_a_word_broken_at_a_line_end_is_quoted_whole() -> None:
    # A picture read before Tesseract's lines were rejoined keeps the page's break: the draft
    # quoted «Про розгортання мобільних госпі- талів у Харківській області».
    text = "НАКАЗ № 412\nПро розгортання мобільних госпі-\nталів у Харківській області"
    assert reads(text, "область") == (
        "На зображенні написано: «Про розгортання мобільних госпіталів у Харківській області»."
    )
    # A compound or a name broken at its own hyphen keeps it.
    text = "Про новий військово-\nморський госпіталь в Івано-\nФранківську"
    assert reads(text, "госпіталь") == (
        "На зображенні написано: «Про новий військово-морський госпіталь в Івано-Франківську»."
    )
