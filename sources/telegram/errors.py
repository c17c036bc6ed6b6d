"""The listener's errors: each message is written for a person (CLI, /status, bot replies)."""

from __future__ import annotations

from storage.records import SourceError


class TelegramError(SourceError):
    """A listener failure whose message is meant for a person (CLI, /status, bot replies)."""


class SessionInUseError(TelegramError):
    """Another process holds the session file."""


class ChannelError(TelegramError):
    """A channel cannot be followed: private, missing, renamed, not a channel."""


class ChannelLimitError(ChannelError):
    """The account follows as many channels as it may."""


class FloodWaitTooLong(TelegramError):
    """Telegram asked for a pause longer than telegram.flood_wait_max; the request was dropped."""


class ListenerStopped(Exception):
    """The listener was told to stop: whatever it was doing (connecting, waiting out a
    back-off or a FloodWait, a catch-up, a reconciliation) ends here, quietly. Deliberately
    not a TelegramError nor a ConnectionError, which the listener records as a failure."""
