"""Quiet hours and daily digests.

Quiet hours: while a person is in their window (`/quiet 23:00-07:00`, their own time zone) the
pipeline enqueues their alerts as held (`in_quiet_hours` is the hook it calls). When the window
ends, `release_quiet` turns everything held into ONE digest message (the alerts about a single
story simply go out as themselves). An update of a held story waits for it, however late in
the window or just after it the official edited the post: the journalist never gets an update
to a story they have not been sent (storage.alerts.NOT_GATED, `AlertRepo.hold_follow_ups`);
a follow-up of a story that went into the digest replies to the digest. Daily digests
(`/digest daily HH:MM`) summarise a person's last 24 hours of alerts; each is an APScheduler
cron job in the person's zone, kept in step with their preferences by `DigestJobs.sync_person`.

Digests go through the outbox like every alert, so the notifier stays the only sender.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.desk.quiet import in_quiet_hours, parse_hhmm_time, person_zone
from bot.drafting.draft import format_when
from bot.drafting.excerpts import snippet
from bot.drafting.html import MESSAGE_LIMIT, Run, join_runs, split_runs, to_html
from bot.i18n import translator
from storage.models import Alert, Person, Source, StoredPost
from storage.store import Store

log = logging.getLogger(__name__)
JobWrap = Callable[[str, Callable[[], Awaitable[Any]]], Callable[[], Awaitable[Any]]]

QUIET_JOB = "digest.quiet"
DAILY_JOB_PREFIX = "digest.daily."
QUIET_TICK = 60  # seconds between checks for quiet hours that ended
DAY = 86400
_SNIPPET = 160

_KIND_MARK = {"edit": "✏️ ", "delete": "🗑 ", "new": "", "digest": ""}
_WEIGHT = {"new": 0, "edit": 1, "delete": 2}  # which mark a post with several alerts keeps


def quiet_title(n: int, lang: str) -> str:
    """The quiet-hours digest's first line, the count in the language's plural form (1 / 21
    сповіщення, 3 / 22 сповіщення, 5 / 11 сповіщень: the catalogue's plural rule)."""
    return translator(lang).ngettext(
        "While you were in quiet hours: {n} alert", "While you were in quiet hours: {n} alerts", n
    )


def held_title(n: int, lang: str) -> str:
    """The first line of the digest of alerts held for another reason than quiet hours (the
    person blocked the bot or paused)."""
    return translator(lang).ngettext(
        "While your alerts were on hold: {n} alert",
        "While your alerts were on hold: {n} alerts",
        n,
    )


def daily_title(n: int, lang: str) -> str:
    return translator(lang).ngettext(
        "Daily digest: {n} matching post in the last 24 hours",
        "Daily digest: {n} matching posts in the last 24 hours",
        n,
    )


def _label(source: Source | None, post: StoredPost, lang: str) -> str:
    name = source.person_in(lang) if source is not None else None
    return f"{name} (@{post.channel})" if name else f"@{post.channel}"


@dataclass(frozen=True, slots=True)
class DigestItem:
    kind: str
    post: StoredPost
    source: Source | None


def compose_digest(
    title: str,
    items: Sequence[DigestItem],
    *,
    lang: str,
    tz: str,
    empty: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One digest in the alert payload shape: a title, then per post who, when, an excerpt and
    the permalink. Long digests continue over several messages, each within Telegram's limit.
    The time reads as the drafts print it ("6:08 p.m., Nov. 24" / "18:08, 24 листопада", the
    Kyiv time added for a reader elsewhere, the year when `now` is in another): "24.11 18:08"
    read as November 24 or as a date in December, and named no zone."""
    runs: list[Run] = [Run(title, "b")]
    plain = [title]
    if not items and empty:
        runs = join_runs(runs, "\n", empty)
        plain.append(empty)
    for item in items:
        post = item.post
        when = format_when(post.date, tz, lang, now=now)
        head = f"{_KIND_MARK.get(item.kind, '')}{_label(item.source, post, lang)} · {when}"
        excerpt = snippet(post.text, width=_SNIPPET) if post.text.strip() else "—"
        runs = join_runs(runs, "\n\n", [Run(head, "b")], "\n", excerpt, "\n", post.permalink)
        plain.append(f"{head}\n{excerpt}\n{post.permalink}")
    messages = [
        {"html": to_html(piece), "buttons": []} for piece in split_runs(runs, MESSAGE_LIMIT)
    ]
    return {"messages": messages, "plain": "\n\n".join(plain)}


async def _items(store: Store, alerts: Sequence[Alert]) -> list[DigestItem]:
    """One item per post, where its first alert was, marked by what happened to it last: a
    post that arrived and was edited in the night is one edited post, not two entries showing
    the same current text."""
    out: list[DigestItem] = []
    where: dict[int, int] = {}
    sources: dict[int, Source | None] = {}
    for alert in alerts:
        if alert.post_id is None:
            continue
        if alert.post_id in where:
            index = where[alert.post_id]
            item = out[index]
            if _WEIGHT.get(alert.kind, 0) > _WEIGHT.get(item.kind, 0):
                out[index] = DigestItem(alert.kind, item.post, item.source)
            continue
        post = await store.posts.get_by_id(alert.post_id)
        if post is None:
            continue
        if post.source_id not in sources:
            sources[post.source_id] = await store.sources.get(post.source_id)
        where[alert.post_id] = len(out)
        out.append(DigestItem(alert.kind, post, sources[post.source_id]))
    return out


def _ready(person: Person) -> bool:
    return person.active and person.reachable and not person.paused and person.user_id is not None


async def release_quiet(
    store: Store, *, at: datetime | None = None, on_enqueue: Callable[[], None] | None = None
) -> int:
    """For everyone whose quiet hours are over: what was held goes out as one digest.

    Returns the number of people served. Alerts held for other reasons (blocked bot, pause)
    stay held: `_ready` skips those people. What is still owed to people removed from the desk
    is settled unsent (`AlertRepo.settle_removed`). Only the people the one read
    (`release_candidates`) finds are written for.
    """
    moment = at or datetime.now(UTC)
    served = 0
    # Only the people with something held: a write transaction for every person on the desk
    # every minute contended with the pipeline's writes for nothing.
    for person in await store.alerts.release_candidates():
        if not person.active:
            # Removed from the desk: nothing goes to them, and nothing stays owed for ever
            # (an update waiting for its story held for the night would).
            count = await store.alerts.settle_removed(person.id)
            log.info("person %s was removed: %d alerts owed to them not sent", person.id, count)
            continue
        if not _ready(person) or in_quiet_hours(person, moment):
            continue
        # An edit or a deletion queued after the window ended, while its story still waited
        # here, goes with the story: after it, or into the digest with it.
        await store.alerts.hold_follow_ups(person.id)
        held = await store.alerts.held(person.id)
        if not held:
            continue
        as_is = ("digest", "translation")
        digests = [a.id for a in held if a.kind in as_is]
        others = [a for a in held if a.kind not in as_is]
        if digests:
            # A digest parked by the notifier (person unreachable at the time) is sent as is;
            # so is a translation, which a digest has no room for (after its alert, or after
            # the digest its alert went into, as a reply to it: storage.alerts.NOT_GATED).
            await store.alerts.release(digests)
        if len({a.post_id for a in others}) == 1:
            # One story (with its updates): the alerts themselves, each update a reply to
            # the story's message, rather than a digest of one line.
            await store.alerts.release([a.id for a in others])
        elif others:
            items = await _items(store, others)
            # Quiet hours hold without a reason; a block or a pause writes one into last_error.
            quiet = bool(person.quiet_from and person.quiet_to) and not any(
                a.last_error for a in others
            )
            title = (quiet_title if quiet else held_title)(len(items), person.lang)
            payload = compose_digest(title, items, lang=person.lang, tz=person.tz, now=moment)
            async with store.transaction():
                digest_id = await store.alerts.enqueue(
                    person_id=person.id,
                    post_id=None,
                    kind="digest",
                    version=others[-1].id,
                    payload=payload,
                )
                assert digest_id is not None  # post_id NULL never conflicts
                await store.alerts.mark_digested([a.id for a in others], digest_id)
            log.info(
                "quiet hours over for person %s: %d alerts in one digest", person.id, len(others)
            )
        served += 1
    if served and on_enqueue is not None:
        on_enqueue()
    return served


async def daily_digest(
    store: Store,
    person_id: int,
    *,
    at: datetime | None = None,
    on_enqueue: Callable[[], None] | None = None,
) -> int | None:
    """Enqueue the person's daily digest (once per local day); the alert id, or None."""
    person = await store.people.get(person_id)
    if person is None or not person.active or person.digest_at is None:
        return None
    moment = at or datetime.now(UTC)
    local_day = moment.astimezone(person_zone(person)).date().isoformat()
    key = f"digest.daily.{person.id}"
    done = await store.state.get(key)
    if done is not None and done[0] == local_day:
        return None
    since = int(moment.timestamp()) - DAY
    alerts = await store.alerts.recent_for_person(person.id, since, ("new",))
    items = await _items(store, alerts)
    title = daily_title(len(items), person.lang)
    payload = compose_digest(
        title,
        items,
        lang=person.lang,
        tz=person.tz,
        empty=translator(person.lang).gettext("Nothing matched your rules in the last 24 hours."),
        now=moment,
    )
    async with store.transaction():
        alert_id = await store.alerts.enqueue(
            person_id=person.id,
            post_id=None,
            kind="digest",
            version=0,
            payload=payload,
            held=in_quiet_hours(person, moment),
        )
        await store.state.set(key, local_day)
    if on_enqueue is not None:
        on_enqueue()
    return alert_id


class DigestJobs:
    """The digest jobs on an APScheduler 3.x AsyncIOScheduler."""

    def __init__(
        self,
        scheduler: Any,
        store: Store,
        *,
        on_enqueue: Callable[[], None] | None = None,
        wrap: JobWrap | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.store = store
        self.on_enqueue = on_enqueue
        self.wrap = wrap

    def _job(self, name: str, func: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        return self.wrap(name, func) if self.wrap is not None else func

    async def _quiet(self) -> None:
        await release_quiet(self.store, on_enqueue=self.on_enqueue)

    async def _daily(self, person_id: int) -> None:
        await daily_digest(self.store, person_id, on_enqueue=self.on_enqueue)

    async def sync_person(self, person: Person) -> None:
        """(Re)schedule or drop the person's daily digest after a preference changed."""
        from apscheduler.triggers.cron import CronTrigger

        job_id = f"{DAILY_JOB_PREFIX}{person.id}"
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)
        if not person.active or not person.digest_at:
            return
        at = parse_hhmm_time(person.digest_at)
        self.scheduler.add_job(
            self._job(job_id, functools.partial(self._daily, person.id)),
            CronTrigger(hour=at.hour, minute=at.minute, timezone=person_zone(person)),
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )

    async def start(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self._job(QUIET_JOB, self._quiet),
            IntervalTrigger(seconds=QUIET_TICK),
            id=QUIET_JOB,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=QUIET_TICK,
        )
        for person in await self.store.people.list():
            await self.sync_person(person)


async def schedule_digests(
    scheduler: Any,
    store: Store,
    *,
    on_enqueue: Callable[[], None] | None = None,
    wrap: JobWrap | None = None,
) -> DigestJobs:
    """Add the quiet-hours release job and every person's daily digest job; the returned object
    goes to the bot (`build_dispatcher(digests=...)`) so `/digest` and `/tz` re-schedule."""
    jobs = DigestJobs(scheduler, store, on_enqueue=on_enqueue, wrap=wrap)
    await jobs.start()
    return jobs


__all__ = [
    "DAILY_JOB_PREFIX",
    "QUIET_JOB",
    "DigestItem",
    "DigestJobs",
    "compose_digest",
    "daily_digest",
    "release_quiet",
    "schedule_digests",
]
