"""Command words in either alphabet: every parser takes the Latin and the Cyrillic forms, and
/help names them in every language."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.desk.inputs import DeskError, parse_duration, parse_quiet, parse_role, parse_zone
from bot.desk.search import split_filters
from bot.desk.words import DURATION_UNITS, LANG_WORDS, ROLE_WORDS
from bot.i18n import LANGS, translator
from bot.matching import parse_rule
from bot.matching.rules import FILTER_NAMES, RuleSyntaxError

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("30хв", timedelta(minutes=30)),
        ("30мин", timedelta(minutes=30)),
        ("30м", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("2год", timedelta(hours=2)),
        ("2ч", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1д", timedelta(days=1)),
        ("3дн", timedelta(days=3)),
        ("3 дні", timedelta(days=3)),
        ("5 днів", timedelta(days=5)),
        ("2 дня", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1т", timedelta(weeks=1)),
        ("1тиж", timedelta(weeks=1)),
        ("2 тижні", timedelta(weeks=2)),
        ("1нед", timedelta(weeks=1)),
        ("2ГОД30ХВ", timedelta(hours=2, minutes=30)),
        ("1д 12год", timedelta(days=1, hours=12)),
    ],
)
def test_every_duration_unit_in_either_alphabet(typed: str, expected: timedelta) -> None:
    assert parse_duration(typed) == expected


def test_every_unit_the_table_lists_parses() -> None:
    for unit, seconds in DURATION_UNITS.items():
        assert parse_duration(f"2{unit}") == timedelta(seconds=2 * seconds), unit


@pytest.mark.parametrize("word", ["forever", "назавжди", "навсегда", "Назавжди"])
def test_forever_in_either_alphabet(word: str) -> None:
    assert parse_duration(word) is None


@pytest.mark.parametrize("word", ["off", "вимк", "выкл", "ні", "нет"])
def test_quiet_hours_off_in_either_alphabet(word: str) -> None:
    assert parse_quiet(word) is None


def test_roles_and_languages_in_either_alphabet() -> None:
    assert [parse_role(w) for w in ("Редактор", "журналіст", "журналист", "адмін", "админ")] == [
        "editor",
        "journalist",
        "journalist",
        "admin",
        "admin",
    ]
    assert {LANG_WORDS[w] for w in ("укр", "англ", "рус")} == set(LANGS)


@pytest.mark.parametrize("name", sorted(n for n, kind in FILTER_NAMES.items() if kind == "from"))
def test_from_in_either_alphabet(name: str) -> None:
    assert parse_rule(f"обмін {name}:@border_service_demo") == parse_rule(
        "обмін from:@border_service_demo"
    )


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("обмін НЕ Туреччина", "обмін NOT Туреччина"),
        ("обмін АБО обмен", "обмін OR обмен"),
        ("обмін ИЛИ обмен", "обмін OR обмен"),
        ("обмін ТА полонені", "обмін AND полонені"),
        ("обмін І полонені", "обмін AND полонені"),
        ("обмен И пленные", "обмен AND пленные"),
    ],
)
def test_rule_operators_in_either_alphabet(typed: str, plain: str) -> None:
    assert parse_rule(typed) == parse_rule(plain)


def test_search_filters_in_either_alphabet() -> None:
    latin = split_filters("обмін since:2025-12-01 until:2025-12-31 edited:yes deleted:no", KYIV)
    for typed in (
        "обмін з:2025-12-01 до:2025-12-31 змінено:так видалено:ні",
        "обмін с:2025-12-01 до:2025-12-31 изменено:да удалено:нет",
    ):
        assert split_filters(typed, KYIV) == latin


def test_a_search_filter_in_a_rule_is_refused_in_either_alphabet() -> None:
    for typed in ("обмін з:2025-12-01", "обмін видалено:так"):
        with pytest.raises(RuleSyntaxError, match="is a search filter"):
            parse_rule(typed)


def test_help_names_every_filter_and_unit_in_every_language() -> None:
    # /help is the one place people learn these words: each language's text lists them all.
    from bot.handlers.journalist import _HELP_ALPHABETS

    wanted = [f"{name}:" for name in FILTER_NAMES]
    wanted += ["1тиж", "1нед", "1дн", "НЕ", "И", "І"]
    for lang in LANGS:
        roles = ("журналист", "редактор", "админ") if lang == "ru" else ("журналіст", "адмін")
        assert all(w in ROLE_WORDS for w in roles)
        text = translator(lang).gettext(_HELP_ALPHABETS)
        assert [w for w in [*wanted, *roles] if w not in text] == [], lang


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Київ", "Europe/Kyiv"),
        ("киев", "Europe/Kyiv"),
        ("Kyiv", "Europe/Kyiv"),
        ("Варшава", "Europe/Warsaw"),
        ("Нью-Йорк", "America/New_York"),
        ("New York", "America/New_York"),
        ("new york", "America/New_York"),
        ("Лондон", "Europe/London"),
        ("Europe/Kyiv", "Europe/Kyiv"),
    ],
)
def test_a_time_zone_by_its_city_in_any_of_the_three_languages(typed: str, zone: str) -> None:
    # "/tz Київ" and "/tz Киев" were "not a time zone", and "/tz New York" too while
    # "/tz new_york" worked: a journalist names their city as they write it.
    assert parse_zone(typed) == zone


def test_a_city_that_is_no_zone_is_still_refused() -> None:
    for typed in ("Жмеринка", "Atlantis", "../../etc/passwd", "Europe /Kyiv x"):
        with pytest.raises(DeskError):
            parse_zone(typed)
