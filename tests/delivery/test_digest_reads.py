"""A digest's times read as the drafts print them, in each language. Texts written for these
tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.digest import DigestItem, compose_digest
from bot.drafting.draft import format_when
from tests.drafting.test_compose import source, stored

NIGHT = datetime(2026, 3, 4, 1, 32, tzinfo=UTC)  # 03:32 in Kyiv, 20:32 the day before in New York


@pytest.mark.parametrize(
    ("lang", "tz", "shown"),
    [
        ("uk", "Europe/Kyiv", "03:32, 4 березня"),
        ("ru", "Europe/Kyiv", "03:32, 4 марта"),
        ("en", "Europe/Kyiv", "3:32 a.m., March 4"),
        # Elsewhere: their own clock and day, and Kyiv's, as a draft says it.
        # (Kyiv's day too when it is not theirs: "3:32 a.m. Kyiv time, March 3" was a day off.)
        ("en", "America/New_York", "8:32 p.m., March 3 (3:32 a.m., March 4, Kyiv time)"),
        ("uk", "America/New_York", "20:32, 3 березня (03:32, 4 березня за київським часом)"),
    ],
)
def test_digest_times_read_as_the_drafts_print_them(lang: str, tz: str, shown: str) -> None:
    post = stored("Енергосистема працює стабільно.", date=NIGHT)
    payload = compose_digest(
        "Title", [DigestItem("new", post, source())], lang=lang, tz=tz, now=NIGHT
    )
    head = payload["plain"].split("\n\n")[1].splitlines()[0]
    # It was "04.03 03:32" in every language: a day that reads as April 3 in English, and no
    # zone for a reader whose /tz is not their phone's.
    assert head.endswith(" · " + shown), head
    assert shown == format_when(NIGHT, tz, lang, now=NIGHT)
