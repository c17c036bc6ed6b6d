"""What people type into the desk's commands, read once for the bot and the CLI: times of day,
quiet hours, durations, time zones, roles, people and channels, in the words of
bot/desk/words.py. Pure functions; what they refuse is a `DeskError`, a message meant for the
person who typed it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.desk.words import DURATION_UNITS, FOREVER_WORDS, OFF_WORDS, ROLE_WORDS
from bot.i18n import N_, LocalizedError, Message
from storage.models import ROLES, Role
from storage.records import SourceError, normalize_username

MAX_MUTE = timedelta(days=365)

_USER_RE = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
# 7:05, 07.05 (as Ukrainian and Russian text writes it) or the hour alone.
_HHMM_RE = re.compile(r"^([01]?\d|2[0-3])(?:[:.]([0-5]\d))?$")
# 11pm, 7 a.m., 8:30am: how English-speaking journalists write a time of day.
_AMPM_RE = re.compile(r"^(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?\s*([ap])\.?\s*m\.?$", re.IGNORECASE)
# Longest unit first, so "2год" is two hours, not "2г" and a stray "од".
_DURATION_RE = re.compile(
    r"(\d{1,4})(" + "|".join(sorted(map(re.escape, DURATION_UNITS), key=len, reverse=True)) + ")"
)


def without_invisible(text: str) -> str:
    """`text` without the invisible format characters that copying drags along (a zero-width
    space from a web page, a left-to-right mark or an isolate from an RTL chat, a BOM, a soft
    hyphen): in a command they made "@grid_ministry_demo" a name that looked right and was
    refused. An emoji's zero-width joiner and its tag characters (a region's flag) hold the
    emoji together and stay."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if not _invisible(ch))


def _invisible(ch: str) -> bool:
    return (
        unicodedata.category(ch) == "Cf"
        and ch != "\u200d"
        and not "\U000e0020" <= ch <= "\U000e007f"
    )


class DeskError(LocalizedError):
    """Input the desk refuses. The message is a msgid, answered in the person's language
    (`tr.error(exc)`); `str(exc)` is the English text the CLI prints."""


def clip(value: str, limit: int = 60) -> str:
    """A piece of user input safe to repeat in a one-line message."""
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_hhmm(value: str) -> str:
    """`7:05`, `7.05` -> `07:05`; `7` -> `07:00`; `11pm` -> `23:00`; DeskError otherwise."""
    twelve = _AMPM_RE.match(value.strip())
    if twelve:
        hour = int(twelve.group(1)) % 12 + (12 if twelve.group(3).lower() == "p" else 0)
        return f"{hour:02d}:{twelve.group(2) or '00'}"
    m = _HHMM_RE.match(value.strip())
    if not m:
        raise DeskError(
            "not a time of day: '{value}' (use HH:MM, e.g. 07:30)", value=clip(value, 20)
        )
    return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"


def parse_quiet(value: str) -> tuple[str, str] | None:
    """`23:00-07:00` -> ("23:00", "07:00"); `off` -> None."""
    v = value.strip()
    if v.lower() in OFF_WORDS:
        return None
    parts = re.split(r"\s*[-–—]\s*", v)
    if len(parts) != 2:
        raise DeskError("quiet hours look like 23:00-07:00 (or off)")
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start == end:
        raise DeskError("quiet hours must start and end at different times")
    return start, end


def parse_duration(value: str) -> timedelta | None:
    """`30m`, `2h`, `1d`, `1w`, `2h30m` (and `30хв`, `2год`, `1д`, `1тиж`, `1нед`, ...: the units
    of bot.desk.words); `forever`-like words -> None (no end)."""
    if value.strip().lower().replace(" ", "") in FOREVER_WORDS:
        return None
    delta = parse_span(value)
    if delta > MAX_MUTE:
        raise DeskError("a mute lasts at most a year (or forever)")
    return delta


def parse_span(value: str) -> timedelta:
    """A length of time in the units `parse_duration` reads, with no upper bound: a search's
    since:400d reaches back past a year, which a mute may not."""
    v = value.strip().lower().replace(" ", "")
    pos = 0
    total = 0
    for m in _DURATION_RE.finditer(v):
        if m.start() != pos:
            break
        total += int(m.group(1)) * DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(v) or total <= 0:
        raise DeskError(
            "not a duration: '{value}' (use 30m, 2h, 1d, 1w or forever)", value=clip(value, 20)
        )
    return timedelta(seconds=total)


def parse_zone(value: str) -> str:
    """A zone by its IANA name in any case ("europe/kyiv"), or by its city alone ("Warsaw",
    "new_york", "New York") when exactly one zone ends with it, or by the city's name in
    Ukrainian or Russian ("Київ", "Киев", "Нью-Йорк"); the canonical spelling is returned."""
    name = " ".join(value.split())
    local = _local_cities().get(name.casefold()) if len(name) <= 64 else None
    if local is not None:
        return local
    name = name.replace(" ", "_")
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name):
        raise DeskError("not a time zone: '{value}' (e.g. Europe/Kyiv)", value=clip(value, 30))
    for found in (_zone_names().get(name.lower()), name):
        if found is None:
            continue
        try:
            ZoneInfo(found)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return found
    raise DeskError("unknown time zone '{value}' (e.g. Europe/Kyiv, UTC)", value=clip(value, 30))


@functools.cache
def _zone_names() -> dict[str, str]:
    """Lower-cased zone names and unambiguous cities -> the zone's own spelling. On Linux the
    zone files are case-sensitive, so ZoneInfo("europe/kyiv") is refused."""
    names: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for zone in zoneinfo.available_timezones():
        names[zone.lower()] = zone
        if "/" in zone and not zone.lower().startswith(("etc/", "posix/", "right/")):
            cities.setdefault(zone.rsplit("/", 1)[1].lower(), set()).add(zone)
    for city, zones in cities.items():
        if len(zones) == 1 and city not in names:
            names[city] = next(iter(zones))
    return names


@functools.cache
def _local_cities() -> dict[str, str]:
    """Cities as Ukrainian and Russian write them -> their zone ("/tz Київ" from a Ukrainian
    journalist): CLDR's exemplar cities, read from Babel's locale data. A name that two zones
    share is left out."""
    from babel import Locale

    available = zoneinfo.available_timezones()
    found: dict[str, set[str]] = {}
    for lang in ("uk", "ru"):
        for zone, names in Locale.parse(lang).time_zones.items():
            city = names.get("city") if zone in available else None
            if isinstance(city, str) and city:
                found.setdefault(city.casefold(), set()).add(zone)
    return {city: next(iter(zones)) for city, zones in found.items() if len(zones) == 1}


_ROLE_LIST = Message(N_("admin, editor, journalist"))


def parse_role(value: str) -> Role:
    v = ROLE_WORDS.get(value.strip().lower(), "")
    for role in ROLES:
        if v == role:
            return role
    # The role words as the reader types them ("адмін, редактор, журналіст"): the English
    # ones in a Ukrainian refusal told them nothing the usage line under it did not contradict.
    raise DeskError(
        "role must be one of {roles}, not '{value}'", roles=_ROLE_LIST, value=clip(value, 20)
    )


def parse_who(value: str) -> tuple[int | None, str | None]:
    """A person reference: a numeric Telegram user id or an @username."""
    v = value.strip()
    if re.fullmatch(r"\d{1,15}", v):
        uid = int(v)
        if uid <= 0:
            raise DeskError("a Telegram user id is a positive number")
        return uid, None
    m = _USER_RE.match(v)
    if m:
        return None, m.group(1).lower()
    raise DeskError("not a user id or @username: '{value}'", value=clip(value, 40))


def source_ref(value: str) -> str:
    try:
        return normalize_username(value)
    except SourceError as exc:
        raise DeskError.wrap(exc) from exc
