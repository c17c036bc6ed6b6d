"""Whether this notifier may deliver to a chat now: the person can be reached, and (with
several notifiers on one PostgreSQL outbox) this process holds the chat's claim; and a group
chat that Telegram upgraded to a supergroup, followed to its new id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from bot.delivery.notices import ADMINS, tell
from bot.delivery.pacer import Clock
from storage.models import Person
from storage.store import DATABASE_ERRORS, Store

log = logging.getLogger(__name__)

LEASE_RETRY = 1.0  # seconds before asking again for a chat another notifier delivers


async def follow_upgrade(store: Store, old: int, new: int) -> bool:
    """The group `old` is now the supergroup `new` (an admin changed a setting that needs one,
    and Telegram moved the chat silently): what was stored under the old id moves to the new
    one (`PeopleRepo.move_chat`), so that alerts keep going there and commands from it are the
    same desk chat's. Telegram tells of it several ways (a 400 to the notifier or to a reply,
    a service message in each chat): the first to arrive moves it and logs it, once.

    When the new id is on the desk already (someone added the supergroup by its id before the
    bot heard of the upgrade), the two rows are one chat: the old one's waiting alerts join the
    new one's, twins dropped (`PeopleRepo.merge_chat`), and the admins are told, once; each of
    those alerts failed on a 400 before."""
    if old == new:
        return False
    moved = await store.people.move_chat(old, new)
    if moved:
        log.warning(
            "chat %s was upgraded to a supergroup by Telegram; its new id is %s: the desk chat"
            " and its alerts follow it",
            old,
            new,
        )
    merged = await store.people.merge_chat(old, new)
    if merged is None:
        return moved
    log.warning(
        "chat %s was upgraded to the supergroup %s, which was person %s already: person %s's"
        " %d waiting alerts joined its queue (%d it had already were dropped) and person %s"
        " was deactivated",
        old,
        new,
        merged.into_person,
        merged.from_person,
        merged.moved,
        merged.dropped,
        merged.from_person,
    )
    await tell(
        store,
        f"chat-merged:{old}:{new}",
        lambda tr: tr.gettext(
            "Telegram upgraded the group {old} to the supergroup {new}, which was on the desk"
            " already. The group's waiting alerts go to the supergroup now (moved: {moved};"
            " already there, so not sent twice: {dropped}), and so do its own rules; the"
            " group's entry was removed. Check the supergroup's settings in /people.",
            old=old,
            new=new,
            moved=merged.moved,
            dropped=merged.dropped,
        ),
        roles=ADMINS,
    )
    return True


def unsendable(person: Person | None) -> str | None:
    """Why alerts to this person must be held instead of sent, or None."""
    if person is None:
        return "person not found"
    if not person.active:
        return "person removed"
    if person.paused:
        return "alerts paused"
    if not person.reachable:
        return "person blocked the bot"
    if person.user_id is None:
        return "no Telegram user id yet (the person has not written to the bot)"
    return None


class ChatLeases:
    """Chats another notifier is delivering, skipped until it may have stopped (it can die:
    its claim then runs out). A chat is one notifier's at a time, so its alerts keep their
    order and each is re-read by its sender just before it goes out."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._elsewhere: dict[int, float] = {}  # person id -> clock time to ask again

    def elsewhere(self, person_id: int) -> bool:
        at = self._elsewhere.get(person_id)
        if at is not None and at <= self.clock():
            del self._elsewhere[person_id]
            return False
        return at is not None

    def retry_in(self) -> list[float]:
        """Seconds until each skipped chat is asked again."""
        now = self.clock()
        self._elsewhere = {p: at for p, at in self._elsewhere.items() if at > now}
        return [at - now for at in self._elsewhere.values()]

    async def take(self, person_id: int) -> bool:
        if await self.store.alerts.try_lease(person_id):
            self._elsewhere.pop(person_id, None)
            return True
        self._elsewhere[person_id] = self.clock() + LEASE_RETRY
        return False

    async def give_back(self, person_id: int) -> None:
        with contextlib.suppress(*DATABASE_ERRORS):
            await self.store.alerts.release_lease(person_id)

    async def keep(self, chats: Iterable[int]) -> None:
        """On a shared outbox a chat's claim runs out unless renewed: renew the claims of
        `chats` (those being delivered, read each time) every third of the claim's time, so
        a live notifier keeps them through pacing and 429 waits and a dead one's run out.
        Returns at once where there are no claims (SQLite)."""
        ttl = self.store.alerts.claim_ttl
        if not ttl:
            return
        while True:
            await asyncio.sleep(ttl / 3)
            with contextlib.suppress(*DATABASE_ERRORS):
                await self.store.alerts.renew_leases(list(chats))
