"""The message catalogues: complete in every language, plural rules per language, errors that
carry a msgid, and the language a person gets."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog

from bot.i18n import LANGS, LocalizedError, pick_lang, translator
from bot.i18n.catalogs import (
    check,
    extract,
    extract_with_warnings,
    problems,
    read,
    unextracted,
)


def test_every_message_of_the_code_is_translated_in_every_language() -> None:
    # The same check `make lint` runs; here so that `make test` fails on it too.
    assert check() == []


def test_a_message_missing_in_one_language_is_reported() -> None:
    template = extract()
    catalog = read("ru")
    victim = next(m.id for m in template if m.id and not isinstance(m.id, tuple))
    catalog.delete(victim)
    found = list(problems(template, "ru", catalog))
    assert found == [f"ru: missing {victim!r}"]


def test_a_translation_that_drops_a_placeholder_is_reported() -> None:
    template = Catalog(locale="uk")
    template.add("Muted @{channel}.")
    catalog = Catalog(locale="uk")
    catalog.add("Muted @{channel}.", "Вимкнено.")
    (found,) = problems(template, "uk", catalog)
    assert "placeholders" in found


def test_plural_forms_follow_each_language() -> None:
    uk, ru, en = translator("uk"), translator("ru"), translator("en")
    forms = {n: uk.ngettext("{n} post", "{n} posts", n) for n in (1, 3, 5, 11, 21, 22, 25)}
    assert forms == {
        1: "1 допис",
        3: "3 дописи",
        5: "5 дописів",
        11: "11 дописів",
        21: "21 допис",
        22: "22 дописи",
        25: "25 дописів",
    }
    assert [ru.ngettext("{n} post", "{n} posts", n) for n in (1, 2, 5)] == [
        "1 пост",
        "2 поста",
        "5 постов",
    ]
    assert [en.ngettext("{n} post", "{n} posts", n) for n in (1, 2)] == ["1 post", "2 posts"]


def test_an_error_is_english_for_logs_and_translated_for_the_reader() -> None:
    class Refused(LocalizedError):
        pass

    inner = Refused("there is no rule #{id}", id=7)
    outer = Refused("bad rule: {reason}", reason=inner)
    assert str(outer) == "bad rule: there is no rule #7"
    assert translator("uk").error(outer) == "помилка в правилі: правила №7 немає"
    assert str(Refused.wrap(ValueError("disk full"))) == "disk full"
    assert translator("uk").error(Refused.wrap(inner)) == "правила №7 немає"


def test_the_language_follows_the_app_when_it_is_one_of_ours() -> None:
    assert pick_lang("en-GB") == "en"
    assert pick_lang("ru") == "ru"
    assert pick_lang("de", default="uk") == "uk"
    assert pick_lang(None, default="en") == "en"
    assert pick_lang("uk", "en") == "uk"
    assert set(LANGS) == {"uk", "en", "ru"}


def test_a_form_missing_in_its_context_is_reported() -> None:
    # The verb agreeing with a feminine speaker is its own entry: "said" in English, "повідомила"
    # in Ukrainian. Losing it must fail the check, not fall back to another gender's form.
    template = extract()
    catalog = read("uk")
    context = "lead verb, feminine speaker"
    assert translator("uk").pgettext(context, "said") == "повідомила"
    catalog.delete("said", context)
    found = list(problems(template, "uk", catalog))
    assert found == [f"uk: missing 'said [{context}]'"]


def test_a_fuzzy_translation_is_reported() -> None:
    template = extract()
    catalog = read("ru")
    victim = next(m for m in catalog if m.id == "Earlier:")
    victim.flags.add("fuzzy")
    assert list(problems(template, "ru", catalog)) == ["ru: fuzzy (unreviewed) 'Earlier:'"]


def test_a_message_babel_cannot_see_is_reported(tmp_path: Path) -> None:
    # On Python 3.11 Babel does not look inside an f-string's braces: that message would never
    # reach a catalogue and would be answered in English.
    code = tmp_path / "bot" / "handlers"
    code.mkdir(parents=True)
    (code / "planted.py").write_text(
        "def reply(tr):\n"
        "    ok = tr.gettext('Seen by Babel')\n"
        "    return f\"{tr.gettext('Hidden from Babel')}: {ok}\"\n",
        encoding="utf-8",
    )
    template, _ = extract_with_warnings(tmp_path)
    assert [m.id for m in template if m.id] == ["Seen by Babel"]
    assert list(unextracted(template, tmp_path)) == [
        "bot/handlers/planted.py:3: 'Hidden from Babel' is not extracted (a message inside an "
        "f-string?)"
    ]
