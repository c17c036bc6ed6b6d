"""What the listener tells people about a failure, as notes (storage.records.person_note): a
msgid and its parameters, so /status and /sources read them in each person's language and the
CLI and logs in English."""

from __future__ import annotations

from telethon import errors

from sources.telegram.client import describe, error_name
from storage.records import person_note


def connection_lost(what: str, exc: BaseException) -> str:
    return person_note("{what}: connection lost ({error})", what=what, error=str(exc))


def flood_wait(what: str, seconds: int) -> str:
    return person_note("{what}: FloodWait {seconds}s", what=what, seconds=seconds)


def live_failed(channel: str, exc: BaseException, *, expected: bool) -> str:
    """A live update that could not be handled; `expected` errors (Telegram's, the
    connection's) speak for themselves, anything else is named with its kind."""
    error: object = exc if expected else describe(exc)
    return person_note("live @{channel}: {error}", channel=channel, error=error)


def gap_failed(channel: str, first: int, last: int, exc: BaseException) -> str:
    return person_note(
        "live @{channel}: fetching posts {first}-{last} failed ({error}); the next catch-up "
        "fetches them",
        channel=channel,
        first=first,
        last=last,
        error=error_name(exc),
    )


def deletion_failed(channel: str, exc: BaseException) -> str:
    return person_note("live deletion @{channel}: {error}", channel=channel, error=describe(exc))


def channel_failed(channel: str, exc: BaseException) -> tuple[str, bool]:
    """The note on a channel that failed, and whether it is out of reach for this account
    (private, or we were removed or banned)."""
    if isinstance(exc, errors.ChannelPrivateError | errors.ChannelInvalidError):
        note = person_note(
            "@{channel}: the channel became private, or we were removed or banned ({error})",
            channel=channel,
            error=error_name(exc),
        )
        return note, True
    if isinstance(exc, errors.RPCError):
        return person_note(
            "@{channel}: Telegram said {error}", channel=channel, error=error_name(exc)
        ), False
    return person_note("@{channel}: {error}", channel=channel, error=exc), False
