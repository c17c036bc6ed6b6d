"""Times and dates the way each language's newsrooms print them.

uk/ru: 24-hour clock, day and genitive month from CLDR (Babel), "року"/"года" after a year.
English: AP style by default, "6:08 p.m." and "Jan. 5" (or "January 5" when the desk prefers full
month names). When the reader's zone is not the sources' home zone (Kyiv), the home time follows
in brackets ("4:08 p.m. (6:08 p.m. Kyiv time)"): the story is told in Kyiv time. Another home
zone (`WIREWATCH_DRAFTS__HOME_TZ`) is named by its city ("Warsaw time") or its offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone, get_timezone_location

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


def _home(
    moment: datetime, tz: str, lang: str, style: HouseStyle, *, with_year: bool
) -> tuple[str, bool] | None:
    """What the brackets say about the home zone ("6:08 p.m. Kyiv time"), and whether it names
    the home zone's day: it does when that is not the reader's day, or "3:32 a.m. Kyiv time,
    March 3" put Kyiv's 3:32 on a day it was not there. None when the two zones agree."""
    here = moment.astimezone(ZoneInfo(tz))
    home = moment.astimezone(ZoneInfo(style.home_tz))
    if here.utcoffset() == home.utcoffset():
        return None
    words = texts.words(lang)
    t = clock(moment, style.home_tz, lang)
    dated = home.date() != here.date()
    d = day(moment, style.home_tz, lang, style, with_year=with_year) if dated else ""
    kind, name = _zone_name(style.home_tz, lang)
    if kind == "kyiv":
        if dated:
            return words.gettext("{t}, {day}, Kyiv time", t=t, day=d), True
        return words.gettext("{t} Kyiv time", t=t), False
    if kind == "city":
        if dated:
            return words.gettext("{t}, {day}, {city} time", t=t, day=d, city=name), True
        return words.gettext("{t} {city} time", t=t, city=name), False
    offset = _utc_offset(home)
    return (f"{t}, {d}, {offset}", True) if dated else (f"{t} {offset}", False)


@lru_cache(maxsize=64)
def _zone_name(zone: str, lang: str) -> tuple[Literal["kyiv", "city", "offset"], str]:
    """How the brackets name the home zone: Kyiv (under any of its names) in the words the
    catalogue has for it, another place by its city in the reader's language (CLDR, through
    Babel: Варшава, Warsaw), and a zone that is only an offset (UTC, Etc/GMT-3) by it."""
    tzinfo = get_timezone(zone)
    english = get_timezone_location(tzinfo, locale="en", return_city=True)
    if english == "Kyiv":
        return "kyiv", english
    if english.startswith(("UTC", "GMT")) or any(ch.isdigit() for ch in english):
        return "offset", ""
    return "city", get_timezone_location(tzinfo, locale=lang, return_city=True)


def _utc_offset(local: datetime) -> str:
    """ "UTC", "UTC+3", "UTC+5:30", "UTC-3" (Etc/GMT-3 is three hours *ahead* of UTC: the
    sign of its name is POSIX's, the opposite of what a reader expects)."""
    delta = local.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def clock_with_home(
    moment: datetime, tz: str, lang: str, style: HouseStyle = DEFAULT_STYLE
) -> str:
    """The reader's clock, and the home zone's in brackets when the two differ (with the home
    zone's day when it is another day there)."""
    t = clock(moment, tz, lang)
    home = _home(moment, tz, lang, style, with_year=False)
    return t if home is None else f"{t} ({home[0]})"


def when(
    moment: datetime,
    tz: str,
    lang: str,
    style: HouseStyle = DEFAULT_STYLE,
    *,
    now: datetime | None = None,
) -> str:
    """Clock and day in the reader's zone ("6:08 p.m., Jan. 5" / "18:08, 5 січня"); the year when
    `now` is in another year, so an old post pasted into today's story does not read as new.
    The home zone's clock follows in brackets where the zones differ: "4:08 p.m. (6:08 p.m.
    Kyiv time), Nov. 24", or "8:32 p.m., March 3 (3:32 a.m., March 4, Kyiv time)" across
    midnight."""
    with_year = other_year(moment, tz, now)
    t = clock(moment, tz, lang)
    d = day(moment, tz, lang, style, with_year=with_year)
    home = _home(moment, tz, lang, style, with_year=with_year)
    if home is None:
        return f"{t}, {d}"
    text, dated = home
    return f"{t}, {d} ({text})" if dated else f"{t} ({text}), {d}"


def clock_beside(
    moment: datetime,
    beside: datetime | None,
    tz: str,
    lang: str,
    style: HouseStyle = DEFAULT_STYLE,
    *,
    now: datetime | None = None,
) -> str:
    """`moment`'s clock alone when it falls on `beside`'s day in zone `tz` (or `beside` is
    None), else its clock and day as a draft prints them (the home zone's day in the brackets
    where it differs)."""
    zone = ZoneInfo(tz)
    if beside is None or moment.astimezone(zone).date() == beside.astimezone(zone).date():
        return clock_with_home(moment, tz, lang, style)
    return when(moment, tz, lang, style, now=now)


def edited_note(
    published: datetime,
    edited: datetime | None,
    tz: str,
    lang: str,
    style: HouseStyle = DEFAULT_STYLE,
    now: datetime | None = None,
) -> str:
    """ ", edited at 5:40 p.m." after the time of a post edited since it was published (the
    clock alone on the same day): the text quoted is the edited one, and a rule that matched
    only words the edit added alerted hours after the time printed before it."""
    if edited is None or edited <= published:
        return ""
    t = clock_beside(edited, published, tz, lang, style, now=now)
    return ", " + texts.words(lang).gettext("edited at {t}", t=t)
