"""A word a printed page broke at a line's end ("госпі-" / "талів"), whole again, in uk, ru
and en; a compound's or a name's own hyphen kept. Texts written for these tests."""

from __future__ import annotations

import pytest

from bot.drafting.hyphens import moved, rejoin, rejoin_lines


@pytest.mark.parametrize(
    ("line", "following", "whole"),
    [
        # Broken words: the halves make one the dictionaries know.
        ("ремонт госпі-", "талів у місті", "ремонт госпіталів у місті"),
        ("обещает восста-", "новить больницы", "обещает восстановить больницы"),
        ("will rebuild hospi-", "tals soon", "will rebuild hospitals soon"),
        # A surname no dictionary knows, broken mid-word.
        ("зустрівся з Умє-", "ровим", "зустрівся з Умєровим"),
        # A soft hyphen is only ever a break.
        ("ремонт лікар\u00ad", "ні", "ремонт лікарні"),
        # Compounds and names keep their hyphen, with no space.
        ("новий військово-", "морський госпіталь", "новий військово-морський госпіталь"),
        (
            "державне підприємство в Івано-",
            "Франківську",
            "державне підприємство в Івано-Франківську",
        ),
        ("a state-", "owned clinic", "a state-owned clinic"),
        ("штам COVID-", "19", "штам COVID-19"),
        # A compound's first half left hanging before a conjunction keeps its space.
        ("військово-", "та цивільні лікарі", "військово- та цивільні лікарі"),
    ],
)
def test_a_line_end_hyphen(line: str, following: str, whole: str) -> None:
    assert rejoin(line, following) == whole


@pytest.mark.parametrize(
    ("line", "following"),
    [("Київ -", "столиця"), ("Київ —", "столиця"), ("госпі-", "• список"), ("без дефіса", "далі")],
)
def test_a_dash_or_a_line_that_is_no_words_rest_is_left(line: str, following: str) -> None:
    assert rejoin(line, following) is None


def test_offsets_into_the_text_are_carried_over() -> None:
    text = "ремонт госпі-\nталів і лікарні в Івано-\nФранківську"
    whole, removed = rejoin_lines(text)
    assert whole == "ремонт госпіталів і лікарні в Івано-Франківську"
    for word in ("лікарні", "Франківську", "ремонт"):
        at = text.index(word)
        assert whole[moved(at, removed) : moved(at + len(word), removed)] == word
