"""The check that no English interface text reaches someone reading Ukrainian."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import translator
from storage.records import person_note
from tests.handlers.english import english_sentences, words_of
from tests.handlers.harness import JOURNALIST, running_desk


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


async def test_the_desk_fails_on_an_english_note_planted_where_people_read_it(
    tmp_path: Path,
) -> None:
    # A note stored as plain English text (what the listener wrote before notes carried their
    # msgid) is shown as it is: the Ukrainian desk must refuse to pass with it on screen.
    planted = "the channel went quiet after the account was banned"
    with pytest.raises(AssertionError, match="interface text outside the catalogues"):
        async with running_desk(tmp_path, lang="uk") as desk:
            src = await desk.store.sources.by_username("grid_ministry_demo")
            assert src is not None
            await desk.store.sources.set_error(src.id, planted)
            (reply,) = await desk.ask(JOURNALIST, "/sources")
            assert planted in (reply.text or "")
    # The same note stored as a message is read in Ukrainian and passes.
    async with running_desk(tmp_path / "again", lang="uk") as desk:
        src = await desk.store.sources.by_username("grid_ministry_demo")
        assert src is not None
        note = person_note("@{channel}: Telegram said {error}", channel="x", error="BANNED")
        await desk.store.sources.set_error(src.id, note)
        (reply,) = await desk.ask(JOURNALIST, "/sources")
        assert "@x: Telegram відповів BANNED" in (reply.text or "")
