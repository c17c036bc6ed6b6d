"""How `wirewatch run` splits across processes on a shared PostgreSQL: the roles, and the
leases that keep two processes off one Telegram session."""

from __future__ import annotations

from pathlib import Path

from sources.telegram.config import TelegramSettings

# What one `wirewatch run` process does. `all` is everything in one process (SQLite or
# PostgreSQL); the others split the service across processes sharing a PostgreSQL database:
# listeners store and match (and queue alerts), notifiers drain the outbox (any number of them),
# one bot process answers commands and schedules digests.
ROLES = ("all", "listener", "notifier", "bot")


def session_lease(tg: TelegramSettings) -> str:
    """The database lease a listener holds while it uses this Telegram session."""
    return f"telegram-session:{Path(str(tg.session)).name}"
