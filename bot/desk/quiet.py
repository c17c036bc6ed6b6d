"""Quiet hours as pure functions of a person's preferences: whether a moment falls in their
window (read in their own zone) and when the window ends. The pipeline holds alerts with the
first; the digest job releases them with the second."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.models import Person


def parse_hhmm_time(value: str) -> time:
    """`HH:MM` as stored by the desk's parsers."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def person_zone(person: Person) -> ZoneInfo:
    try:
        return ZoneInfo(person.tz)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(person: Person, at: datetime) -> bool:
    """True when `at` falls inside the person's quiet window, read in their own zone.

    The window is [from, to): `23:00-07:00` holds 23:00 through 06:59 and crosses midnight.
    """
    if not person.quiet_from or not person.quiet_to:
        return False
    local = at.astimezone(person_zone(person)).time().replace(second=0, microsecond=0)
    start, end = parse_hhmm_time(person.quiet_from), parse_hhmm_time(person.quiet_to)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_quiet_end(person: Person, at: datetime) -> datetime | None:
    """When the current quiet window ends (UTC), or None if not in one."""
    if not in_quiet_hours(person, at) or not person.quiet_to:
        return None
    zone = person_zone(person)
    local = at.astimezone(zone)
    end = datetime.combine(local.date(), parse_hhmm_time(person.quiet_to), zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)
