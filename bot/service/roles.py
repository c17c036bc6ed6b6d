"""How `wirewatch run` splits across processes on a shared PostgreSQL: the roles, and the
leases that keep two processes off one Telegram session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sources.telegram.config import TelegramSettings

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.service.app import App

# What one `wirewatch run` process does. `all` is everything in one process (SQLite or
# PostgreSQL); the others split the service across processes sharing a PostgreSQL database:
# listeners store and match (and queue alerts), notifiers drain the outbox (any number of them),
# one bot process answers commands and schedules digests.
ROLES = ("all", "listener", "notifier", "bot")


def session_lease(tg: TelegramSettings) -> str:
    """The database lease a listener holds while it uses this Telegram session."""
    return f"telegram-session:{Path(str(tg.session)).name}"


async def may_listen(app: App) -> bool:
    """Whether this process runs the listener: its role says so and, on a shared PostgreSQL,
    it holds the session's lease. The session file's own lock covers one machine; two
    processes anywhere on one session get it revoked (AUTH_KEY_DUPLICATED)."""
    from bot.service.accounts import pooled

    tg = app.settings.telegram
    if app.role not in ("all", "listener"):
        return False
    if not tg.configured or app.store is None or pooled(app):
        # Missing credentials: _build_listener says so. Several accounts: the process already
        # holds its account's lease (App._take_account).
        return True
    name = session_lease(tg)
    if await app.store.try_lease(name):
        return True
    app.problems.append(f"{name} is leased by another wirewatch process on this database")
    app.degraded.append("listener disabled: its session is in use by another process")
    return False


async def schedule_digests(app: App, scheduler: AsyncIOScheduler) -> None:
    """Digests, once per deployment (a digest is an alert of its own): in `all` or `bot`."""
    from bot.delivery.digest import schedule_digests

    if app.role in ("all", "bot") and app.store is not None:
        app.digests = await schedule_digests(
            scheduler, app.store, on_enqueue=app._on_enqueue, wrap=app._guard
        )


async def build_delivery(app: App) -> None:
    """The bot client, the notifier and the command dispatcher, as far as the role has them.
    The bot role leaves delivery to the notifier processes; a notifier also wakes when another
    process queues an alert (LISTEN/NOTIFY on PostgreSQL)."""
    if app.role == "listener":
        return
    app._build_bot()
    if app.role == "bot":
        app.notifier = None
    if app.notifier is not None and app.store is not None:
        await app.store.listen_outbox(app.notifier.wake)
    if app.bot is not None and app.role in ("all", "bot"):
        app.dispatcher = app._build_dispatcher()
