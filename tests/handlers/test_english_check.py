"""The check that no English interface text reaches someone reading Ukrainian."""

from __future__ import annotations

from bot.i18n import translator
from tests.handlers.english import english_sentences, words_of


def test_an_english_sentence_is_found_and_its_translation_is_not() -> None:
    text = "Unknown command; /help lists your commands."
    assert english_sentences(text) == ["Unknown command;   lists your commands"]
    assert english_sentences(translator("uk").gettext(text)) == []


def test_links_handles_filters_markup_and_data_are_not_sentences() -> None:
    text = (
        "<b>Taras Melnyk (@border_service)</b> · https://t.me/border_service/20\n"
        "/search &lt;запит&gt; [from:@канал since:РРРР-ММ-ДД edited:так] · OR = АБО\n"
        "невідомий часовий пояс (напр. Europe/Kyiv, UTC)"
    )
    assert english_sentences(text) == ["Taras Melnyk"]
    assert english_sentences(text, words_of(["Taras Melnyk"])) == []
