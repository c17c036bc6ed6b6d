"""Short notices from the service to the desk's editors or admins (a followed channel renamed
on Telegram, a group merged into a supergroup that was on the desk already), in each reader's
language, once.

A notice is queued in the outbox like an alert (a `digest`-kind row about no post: the notifier
paces it, retries it, holds it for a blocked bot or quiet hours) in the same transaction as the
state key that says it was told: a restart, or another process on a shared database, never
tells it again.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from bot.desk.quiet import in_quiet_hours
from bot.i18n import Translator, translator
from storage.store import Store

log = logging.getLogger(__name__)

TOLD = "notice.told:"  # state key prefix: the notice of that key went out (to the outbox)
EDITORS = ("admin", "editor")
ADMINS = ("admin",)


async def tell(
    store: Store,
    key: str,
    text: Callable[[Translator], str],
    *,
    roles: Collection[str] = EDITORS,
) -> int:
    """Queue `text` (in each reader's language, plain text) for every active person of
    `roles` the bot can write to, unless the notice `key` was told already. Returns how many
    were queued (0 when told before, or nobody of those roles is on the desk: then the log
    is where it is read)."""
    at = datetime.now(UTC)
    async with store.transaction():
        if not await store.state.claim(f"{TOLD}{key}", at.isoformat()):
            return 0
        queued = 0
        for person in await store.people.list():
            if person.role not in roles or person.user_id is None:
                continue
            words = text(translator(person.lang))
            alert_id = await store.alerts.enqueue(
                person_id=person.id,
                post_id=None,
                kind="digest",
                version=1,
                payload={"messages": [{"html": html.escape(words, quote=False)}], "plain": words},
                held=in_quiet_hours(person, at),
            )
            queued += alert_id is not None
    if not queued:
        log.info("notice %s: nobody of %s on the desk to tell", key, "/".join(roles))
    return queued
