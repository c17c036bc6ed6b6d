"""Search as an editor types it in a hurry: a filter misspelt (frm:, sinse:), a ; for the
colon, no colon before the channel (від@a), a channel pasted as a word (@a, a t.me link), a
year of two digits. Each was searched as words and found nothing, or the wrong posts, without a
word of why. Texts written for these tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk.nothing_found import (
    CHANNEL_AS_WORD,
    CHANNEL_LEFT_OUT_AS_WORD,
    FILTER_TYPO,
    typed_hints,
)
from bot.desk.search import QueryError, parse_date, search_posts, split_filters
from bot.i18n import translator
from tests.handlers.harness import JOURNALIST, running_desk

KYIV = ZoneInfo("Europe/Kyiv")
CHAN = "border_service_demo"


@pytest.mark.parametrize(
    ("query", "typed", "suggested"),
    [
        ("обмін frm:@mod_press", "frm:@mod_press", "from:@mod_press"),
        ("обмін fron:@mod_press", "fron:@mod_press", "from:@mod_press"),
        ("обмін from;@mod_press", "from;@mod_press", "from:@mod_press"),
        ("обмін від@mod_press", "від@mod_press", "від:@mod_press"),
        ("обмен -от;@mod_press", "-от;@mod_press", "-от:@mod_press"),
        ("обмін sinse:вчора", "sinse:вчора", "since:вчора"),
        ("(обмін OR дрони) untill:01.11.2025", "untill:01.11.2025", "until:01.11.2025"),
        ("обмін видаленно:так", "видаленно:так", "видалено:так"),
    ],
)
def test_a_filter_typed_wrong_is_named_with_its_right_spelling(
    query: str, typed: str, suggested: str
) -> None:
    [found] = typed_hints(query, KYIV)
    assert (found.msgid, found.params) == (FILTER_TYPO, {"typed": typed, "suggested": suggested})


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("обмін @border_service", (CHANNEL_AS_WORD, "@border_service")),
        ("https://t.me/border_service/812", (CHANNEL_AS_WORD, "https://t.me/border_service/812")),
        ("Черги T.me/s/Border_Service", (CHANNEL_AS_WORD, "T.me/s/Border_Service")),
        ("черги -@border_service", (CHANNEL_LEFT_OUT_AS_WORD, "-@border_service")),
    ],
)
def test_a_channel_pasted_as_a_word_is_named(query: str, hint: tuple[str, str]) -> None:
    [found] = typed_hints(query, KYIV)
    assert (found.msgid, found.params) == (
        hint[0],
        {"typed": hint[1], "channel": "border_service"},
    )


@pytest.mark.parametrize(
    "query",
    [
        "обмін from:@border_service since:вчора",  # filters as they should be
        "обмін from:https://t.me/border_service/812",
        'обмін "from;@border_service"',  # a phrase is the editor's own
        "Увага: ракети",  # a colon in a sentence
        "Sincere:yes",  # close to since:, but no date after it
        "Заява:Міністр ППО:нове",
        "до@border_service",  # a filter name too short to guess about
        "e-mail press@mod.gov.ua",
    ],
)
def test_words_that_only_look_like_filters_get_no_hint(query: str) -> None:
    assert typed_hints(query, KYIV) == []


def test_a_year_of_two_digits() -> None:
    """`з:18.11.25`, as a date is written by hand, was "not a date"."""
    assert parse_date("18.11.25", KYIV).date() == date(2025, 11, 18)
    assert parse_date("31.12.25", KYIV, end=True).date() == date(2026, 1, 1)


@pytest.mark.parametrize("lang", ["uk", "ru", "en"])
async def test_the_bot_names_the_typo_whether_or_not_it_found_posts(
    tmp_path: Path, lang: str
) -> None:
    """`-frm:@a` left out the words "frm", "a" and found every post, @a's included; the page
    looked like an answer. The hint stands under the posts too."""
    tr = translator(lang)
    async with running_desk(tmp_path, lang=lang) as desk:
        everything = await search_posts(desk.store, "", zone=KYIV)
        [reply] = await desk.ask(JOURNALIST, f"/search -frm:@{CHAN}")
        text = reply.text or ""
        assert "t.me/" + CHAN in text  # what it found: @border_service_demo was not left out
        typo = tr.gettext(FILTER_TYPO, typed=f"-frm:@{CHAN}", suggested=f"-from:@{CHAN}")
        assert text.rstrip().endswith("💡 " + typo)
        [reply] = await desk.ask(JOURNALIST, f"/search -from:@{CHAN}")
        assert "t.me/" + CHAN not in (reply.text or "") and "💡" not in (reply.text or "")
        [reply] = await desk.ask(JOURNALIST, f"/search https://t.me/{CHAN}/20")
        text = reply.text or ""
        assert tr.gettext("No posts found.") in text
        assert (
            "💡 " + tr.gettext(CHANNEL_AS_WORD, typed=f"https://t.me/{CHAN}/20", channel=CHAN)
            in text
        )
        assert len(everything.hits) == 4


@pytest.mark.parametrize(
    ("query", "since", "edited"),
    [
        ("обмін з: 18.11.2025", date(2025, 11, 18), None),
        ("обмін since:  2025-11-18 змінено: так", date(2025, 11, 18), True),
    ],
)
def test_a_filters_value_after_a_space(query: str, since: date, edited: bool | None) -> None:
    """`з: вчора`, a space after the colon as typed in a hurry, was refused: "since: needs a
    value", in English words for a uk filter."""
    parsed = split_filters(query, KYIV)
    assert parsed.text == "обмін"
    assert parsed.since is not None and parsed.since.date() == since
    assert parsed.edited is edited


@pytest.mark.parametrize("query", ["обмін з:", "обмін з: -обмін", "заява з: (обмін OR дрони)"])
def test_a_filter_with_no_value_is_named_as_typed(query: str) -> None:
    with pytest.raises(QueryError) as exc:
        split_filters(query, KYIV)
    assert (exc.value.msg.msgid, exc.value.msg.params) == ("{key}: needs a value", {"key": "з"})
