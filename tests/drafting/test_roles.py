"""A source's role in the draft's language: given by the desk, translated by the glossary, or
marked "[…]" for the journalist to translate, never passed off as the reader's language. Every
text here is written for these tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.desk.desk import Desk
from bot.drafting.alert import compose_alert
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.glossary import make_entry
from bot.drafting.html import plain
from bot.settings import Settings
from storage.store import Store
from tests.drafting.test_compose import source, stored

KYIV = "Europe/Kyiv"
TEXT = "Провів зустріч з міністром оборони Литви. Обговорили постачання дронів."
UK_ONLY: dict[str, Any] = {
    "username": "lysenko_demo",
    "title": "Тарас Лисенко",
    "person": {"uk": "Тарас Лисенко"},
    "role": {"uk": "секретар РНБО"},
    "gender": "m",
}


def lead(lang: str, glossary: Any = (), **src: Any) -> str:
    options = DraftOptions(lang=lang, tz=KYIV, glossary=glossary)
    return build_draft(stored(TEXT), source(**{**UK_ONLY, **src}), options).lead


def test_a_role_given_only_in_ukrainian_is_marked_for_translation_elsewhere() -> None:
    # The English draft read "Taras Lysenko, секретар РНБО, said on Telegram": a Ukrainian
    # role inside an English sentence, pasted as if it were English.
    assert lead("uk") == "Секретар РНБО Тарас Лисенко повідомив у Telegram"
    assert lead("en") == "Taras Lysenko, [секретар РНБО], said on Telegram"
    assert lead("ru") == "[Секретар РНБО] Тарас Лисенко сообщил в Telegram"
    # An institution known by a Ukrainian name alone is marked too, without an English "The".
    staff = {"person": {}, "role": {"uk": "Генштаб ЗСУ"}, "gender": "m"}
    assert lead("en", **staff) == "[Генштаб ЗСУ] said on Telegram"


def test_the_alert_says_why_the_role_is_in_brackets_and_how_to_give_it() -> None:
    options = DraftOptions(lang="en", tz=KYIV)
    payload = compose_alert("new", stored(TEXT), source(**UK_ONLY), options, rule="дрони")
    shown = payload["messages"][0]["html"]
    assert "The role in [brackets] is not given in this language" in shown
    assert "/watch @lysenko_demo | role" in shown
    # The hint is for the journalist, not for the story: the pasted text has only the mark.
    assert "[секретар РНБО]" in payload["plain"] and "/watch" not in payload["plain"]
    ukrainian = compose_alert(
        "new", stored(TEXT), source(**UK_ONLY), DraftOptions(lang="uk", tz=KYIV)
    )
    assert "[" not in ukrainian["messages"][0]["html"]


@pytest.mark.parametrize(
    "entry",
    [
        # An entry named as the role.
        make_entry("institution", {"uk": "секретар РНБО", "en": "NSDC Secretary"}),
        # The source's own person, with a note saying who they are.
        make_entry(
            "person",
            {"uk": "Тарас Лисенко", "en": "Taras Lysenko"},
            {"en": "NSDC Secretary", "uk": "секретар РНБО"},
        ),
    ],
)
def test_the_glossary_translates_a_role_the_desk_gave_in_one_language(entry: Any) -> None:
    assert lead("en", [entry]) == "Taras Lysenko, NSDC Secretary, said on Telegram"
    # A role the desk gave in the reader's language is theirs, whatever the glossary says.
    own = {"role": {"uk": "секретар РНБО", "en": "Secretary of the NSDC"}}
    assert lead("en", [entry], **own) == "Taras Lysenko, Secretary of the NSDC, said on Telegram"
    # Nothing in the glossary for Russian: still marked.
    assert lead("ru", [entry]).startswith("[Секретар РНБО]")


def test_an_update_and_the_background_mark_the_role_as_the_lead_does() -> None:
    from bot.drafting.background import Earlier, background_runs

    earlier = plain(background_runs([Earlier(stored(TEXT), source(**UK_ONLY))], "en", KYIV))
    assert "[секретар РНБО]" in earlier and " секретар РНБО " not in earlier


async def test_an_editor_gives_the_role_in_another_language_and_drafts_take_it(
    tmp_path: Path,
) -> None:
    # /watch takes the role in the editor's language: an English editor's adds the English
    # role beside the Ukrainian one, and English drafts stop marking it.
    db = tmp_path / "d.sqlite"
    store = await Store.open(db)
    try:
        desk = Desk(store, Settings(db=db))
        await desk.watch("@lysenko_demo", person="Тарас Лисенко", role="секретар РНБО", actor=1)
        await desk.watch("@lysenko_demo", role="NSDC Secretary", lang="en", actor=1)
        src = await store.sources.by_username("lysenko_demo")
        assert src is not None
        assert (src.role["uk"], src.role["en"]) == ("секретар РНБО", "NSDC Secretary")
        options = DraftOptions(lang="en", tz=KYIV)
        assert build_draft(stored(TEXT), src, options).lead == (
            "Taras Lysenko, NSDC Secretary, said on Telegram"
        )
    finally:
        await store.close()
