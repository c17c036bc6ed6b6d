"""Which language a person reads: their /lang choice, else their Telegram app's language when it
is uk, en or ru, else the desk default; the command menu follows."""

from __future__ import annotations

import json
from pathlib import Path

from bot.handlers.access import REFUSAL
from bot.i18n import translator
from tests.handlers.harness import JOURNALIST, STRANGER, running_desk

UK, EN, RU = translator("uk"), translator("en"), translator("ru")


def menu_of(desk, user_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    for (scope, code), commands in desk.api.commands.items():
        if json.loads(scope).get("chat_id") == user_id and code == "":
            return {c["command"]: c["description"] for c in commands}
    return {}


async def test_the_app_language_until_a_choice_then_the_choice(tmp_path: Path) -> None:
    async with running_desk(tmp_path, lang="en") as desk:  # the desk default is English
        (r,) = await desk.ask(JOURNALIST, "/help", language_code="uk")
        assert (r.text or "").startswith(UK.gettext("Commands for journalists"))
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None and (person.lang, person.lang_chosen) == ("uk", False)
        # Their menu followed: the same commands, described in Ukrainian.
        await desk.api.wait_for(
            lambda a: (
                menu_of(desk, JOURNALIST).get("help") == UK.gettext("the commands you can use")
            )
        )
        # An app language we do not have: the desk default.
        (r,) = await desk.ask(JOURNALIST, "/help", language_code="de")
        assert (r.text or "").startswith(EN.gettext("Commands for journalists"))
        # A choice wins over the app from then on; the answer is already in the new language.
        (r,) = await desk.ask(JOURNALIST, "/lang ru", language_code="uk")
        assert r.text == RU.gettext(
            "The bot, your drafts and digests are now in {lang}.", lang="русский"
        )
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None and (person.lang, person.lang_chosen) == ("ru", True)
        await desk.api.wait_for(
            lambda a: (
                menu_of(desk, JOURNALIST).get("help") == RU.gettext("the commands you can use")
            )
        )
        (r,) = await desk.ask(JOURNALIST, "/rules", language_code="en")
        assert RU.gettext("No rules yet.") in (r.text or "")
        (r,) = await desk.ask(JOURNALIST, "/lang")
        assert RU.gettext("Your language: {lang}.", lang="русский") in (r.text or "")


async def test_a_stranger_is_refused_in_their_app_language(tmp_path: Path) -> None:
    async with running_desk(tmp_path, lang="uk") as desk:
        (r,) = await desk.ask(STRANGER, "/start", language_code="ru")
        assert r.text == RU.gettext(REFUSAL)
        (r,) = await desk.ask(STRANGER, "/start", language_code="pt-BR")
        assert r.text == UK.gettext(REFUSAL)
