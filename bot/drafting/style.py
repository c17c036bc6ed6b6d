"""Times and dates the way each language's newsrooms print them.

uk/ru: 24-hour clock, day and genitive month from CLDR (Babel), "року"/"года" after a year.
English: AP style by default, "6:08 p.m." and "Jan. 5" (or "January 5" when the desk prefers full
month names). When the reader's zone is not the sources' home zone (Kyiv), the home time follows
in brackets ("4:08 p.m. (6:08 p.m. Kyiv time)"): the story is told in Kyiv time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.drafting import texts

MonthStyle = Literal["ap", "full"]


@dataclass(frozen=True, slots=True)
class HouseStyle:
    """A desk's house style for what a draft prints around the quote."""

    en_months: MonthStyle = "ap"  # "Jan. 5" (AP) or "January 5"
    home_tz: str = "Europe/Kyiv"  # the zone the sources speak in; named when the reader's differs


DEFAULT_STYLE = HouseStyle()


def clock(moment: datetime, tz: str, lang: str) -> str:
    """ "18:08" (uk/ru) or "6:08 p.m." (en) in zone `tz`. English follows AP: "6 p.m." on the
    hour, "noon" and "midnight" rather than 12 p.m./12 a.m., which readers confuse."""
    local = moment.astimezone(ZoneInfo(tz))
    if lang != "en":
        return f"{local.hour:02d}:{local.minute:02d}"
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "noon"
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes} {'a.m.' if local.hour < 12 else 'p.m.'}"


def day(
    moment: datetime, tz: str, lang: str, style: HouseStyle = DEFAULT_STYLE, *, with_year: bool
) -> str:
    """ "5 січня [2025 року]" / "5 января [2025 года]" / "Jan. 5[, 2025]"."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    if lang == "en":
        months = texts.AP_MONTHS if style.en_months == "ap" else texts.FULL_MONTHS
        text = f"{months[local.month - 1]} {local.day}"
    else:
        text = format_datetime(moment, "d MMMM", tzinfo=zone, locale=lang)
    if not with_year:
        return text
    # i18n: a day and its year: "Jan. 5, 2025", "5 січня 2025 року".
    return texts.words(lang).pgettext("date", "{day}, {year}", day=text, year=local.year)


def other_year(moment: datetime, tz: str, now: datetime | None) -> bool:
    zone = ZoneInfo(tz)
    return now is not None and moment.astimezone(zone).year != now.astimezone(zone).year


def clock_with_home(
    moment: datetime, tz: str, lang: str, style: HouseStyle = DEFAULT_STYLE
) -> str:
    """The reader's clock, and the home zone's in brackets when the two differ."""
    t = clock(moment, tz, lang)
    here = moment.astimezone(ZoneInfo(tz)).utcoffset()
    home = moment.astimezone(ZoneInfo(style.home_tz)).utcoffset()
    if here != home:
        home_t = clock(moment, style.home_tz, lang)
        t = t + " (" + texts.words(lang).gettext("{t} Kyiv time", t=home_t) + ")"
    return t


def when(
    moment: datetime,
    tz: str,
    lang: str,
    style: HouseStyle = DEFAULT_STYLE,
    *,
    now: datetime | None = None,
) -> str:
    """Clock and day in the reader's zone ("6:08 p.m., Jan. 5" / "18:08, 5 січня"); the year when
    `now` is in another year, so an old post pasted into today's story does not read as new."""
    with_year = other_year(moment, tz, now)
    t = clock_with_home(moment, tz, lang, style)
    return f"{t}, {day(moment, tz, lang, style, with_year=with_year)}"
