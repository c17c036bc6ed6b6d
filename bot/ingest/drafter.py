"""Drafts for queued alerts, written after the post and its alerts are committed.

Composing a draft (choosing the quote, attribution, names, the archive's background) costs
milliseconds a post; storing and matching it costs a fraction of one. The pipeline therefore
queues a new post's alerts with the status 'drafting' and a payload that says what to draft
(`request`), in the post's own transaction, and the drafter composes them afterwards: a burst of
posts is stored as fast as it arrives, and a draft that cannot be written fails its alert, never
the post. An alert waiting for its draft is not sent, and a later alert to the same chat waits
for it (storage.alerts.NOT_GATED). Drafts not written when the process stopped are written when
a drafter next runs: at start, on every wake-up and every `poll` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.desk.glossary_file import GlossaryWatch
from bot.desk.quiet import in_quiet_hours
from bot.drafting.alert import Kind
from bot.drafting.background import Background
from bot.drafting.draft import DraftOptions, origin_of
from bot.drafting.style import DEFAULT_STYLE, HouseStyle
from bot.ingest.origins import compose_with_origin, earlier_posts
from bot.matching import Span, analyze
from storage.models import Alert, Person, Source, StoredPost, ThreadPost
from storage.store import Store

log = logging.getLogger(__name__)

__all__ = ["Drafter", "request"]


def request(
    person: Person,
    *,
    rule: str,
    spans: Sequence[Span],
    image: bool = False,
) -> dict[str, Any]:
    """What a 'new' alert's draft needs besides its post: the reader's language and zone, the
    rule that fired and where it matched (in the post's text, or in the text read from its
    pictures when `image`). A follow-up is an alert that replies to the story's alert."""
    return {
        "draft": {
            "lang": person.lang,
            "tz": person.tz,
            "rule": rule,
            "spans": [[s.start, s.end, s.term] for s in spans],
            "image": image,
        }
    }


@dataclass
class Drafter:
    store: Store
    style: HouseStyle = DEFAULT_STYLE
    background: int = 3  # older posts a new alert lists under "Earlier:"
    glossary: GlossaryWatch | None = None
    # A translator is running: quotes in another language than the reader's are marked for it.
    translate: bool = False
    on_drafted: Callable[[], None] | None = None  # wakes the notifier (and the translator)
    poll: float = 30.0  # seconds between looks when nobody wakes it (another process queued)
    batch: int = 200
    # Whether a draft is parked for quiet hours is read at this moment (tests set the hour).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self.drafted = 0  # drafts written since start
        self.failed = 0  # alerts failed because their draft could not be written
        self.last_error: str | None = None  # the last draft or drafting run that failed, why

    # -- running ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For /healthz: drafts written and failed since start, and the last failure."""
        return {"drafted": self.drafted, "failed": self.failed, "last_error": self.last_error}

    def wake(self) -> None:
        """Alerts were queued: draft them now (`serve`)."""
        self._wake.set()

    async def serve(self, stop: asyncio.Event | None = None) -> None:
        """Draft whatever is queued, then wait for a wake-up or `poll` seconds; until `stop`.

        Every wake-up is passed on (`on_drafted`) even when nothing needed a draft: edits and
        deletions are queued with their drafts written, and the pipeline wakes only us."""
        stop = stop or asyncio.Event()
        woken = True  # what was queued before we started
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run()
            except Exception as exc:  # a broken database must not end the service's drafting
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("drafting failed; retrying in %.0f s", self.poll)
            if woken and self.on_drafted is not None:
                self.on_drafted()
            # The service's stop ends the wait too: it would otherwise spend its whole
            # shutdown budget on us and cancel us, perhaps while drafts are being written.
            waiters = [
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            try:
                done, _ = await asyncio.wait(
                    waiters, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for w in waiters:
                    w.cancel()
            woken = bool(done)

    async def run(
        self, *, after_id: int = 0, only: Callable[[Alert], Awaitable[bool]] | None = None
    ) -> int:
        """Write the queued drafts, oldest first; returns how many alerts it settled. All of
        them, or (an import) those queued after `after_id` that `only` accepts: a command
        drafts its own alerts, not those a running or stopped service left for its drafter,
        which writes them with the service's settings."""
        settled = 0
        while alerts := await self._queued(after_id):
            after_id = alerts[-1].id
            mine = alerts if only is None else [a for a in alerts if await only(a)]
            changed = await self._draft(mine) if mine else 0
            settled += changed
            if changed and self.on_drafted is not None:
                self.on_drafted()
            if len(alerts) < self.batch:
                break
        return settled

    async def _queued(self, after_id: int) -> list[Alert]:
        # Read in a transaction of our own: on SQLite every task shares one connection, and
        # an import's open transaction may still roll back alerts we would otherwise see, whose
        # ids the next post's alerts then take.
        async with self.store.transaction():
            return await self.store.alerts.drafting(self.batch, after_id=after_id)

    # -- composing ----------------------------------------------------------------------------

    async def compose(
        self, kind: Kind, post: StoredPost, src: Source, person: Person, **extra: Any
    ) -> dict[str, Any]:
        """The person's draft; a forward is credited to its origin when we know that channel,
        and dated by the original when we have it."""
        return await self.compose_for(kind, post, src, person.lang, person.tz, **extra)

    async def compose_for(
        self, kind: Kind, post: StoredPost, src: Source | None, lang: str, tz: str, **extra: Any
    ) -> dict[str, Any]:
        options = DraftOptions(
            lang=lang,
            tz=tz,
            spans=extra.pop("spans", ()),
            style=self.style,
            glossary=extra.pop("glossary", ()),
        )
        return await compose_with_origin(self.store, kind, post, src, options, **extra)

    async def _draft(self, alerts: list[Alert]) -> int:
        # A desk rule alerts everyone with the same draft, up to language, zone and rule:
        # each distinct request of a post version is composed once (a desk of 50 would
        # otherwise cost 50 compositions).
        # A follow-up's draft depends on the story too: the post of the alert it replies to.
        stories = await self.store.alerts.posts_of(
            [a.reply_to_alert for a in alerts if a.reply_to_alert is not None]
        )
        groups: dict[tuple[Any, ...], list[Alert]] = {}
        for alert in alerts:
            update = alert.reply_to_alert is not None
            story = stories.get(alert.reply_to_alert) if update else None  # type: ignore[arg-type]
            key = (
                alert.post_id,
                alert.version,
                update,
                story,
                json.dumps(alert.payload, sort_keys=True),
            )
            groups.setdefault(key, []).append(alert)
        drafted: list[tuple[Alert, dict[str, Any], bool]] = []
        failed: list[tuple[Alert, str]] = []
        backgrounds: dict[tuple[int, str, frozenset[str]], Background] = {}
        people = {p.id: p for p in await self.store.people.list(active_only=False)}
        at = self.clock()
        for members in groups.values():
            first = members[0]
            update, story = bool(first.reply_to_alert is not None), None
            if first.reply_to_alert is not None:
                story = stories.get(first.reply_to_alert)
            try:
                payload = await self._compose_request(first, backgrounds, update, story)
            except Exception as exc:  # one broken draft must not hold the others
                log.exception("the draft of alert %s could not be written", first.id)
                self.last_error = f"alert {first.id}: {type(exc).__name__}: {exc}"
                failed += [(a, f"draft failed: {type(exc).__name__}: {exc}") for a in members]
                continue
            for alert in members:
                person = people.get(alert.person_id)
                # Parked as the pipeline parks alerts: the person blocked the bot, or it is
                # their quiet hours (a digest follows them).
                held = person is None or not person.reachable or in_quiet_hours(person, at)
                drafted.append((alert, payload, held))
        await self.store.alerts.set_drafted(drafted, failed)
        self.drafted += len(drafted)
        self.failed += len(failed)
        return len(drafted) + len(failed)

    async def _compose_request(
        self,
        alert: Alert,
        backgrounds: dict[tuple[int, str, frozenset[str]], Background],
        update: bool,
        story_id: int | None,
    ) -> dict[str, Any]:
        req = alert.payload.get("draft")
        if not isinstance(req, dict) or alert.post_id is None:
            raise ValueError("the alert does not say what to draft")
        post = await self._post_at(alert.post_id, alert.version)
        src = await self.store.sources.get(post.source_id)
        rule = str(req.get("rule") or "")
        spans = tuple(Span(int(a), int(b), str(t)) for a, b, t in req.get("spans") or ())
        image = bool(req.get("image"))
        # Words found in the picture are offsets into the OCR text, not the post's.
        where: dict[str, Any] = {"spans": (), "image_spans": spans} if image else {"spans": spans}
        names = []
        if self.glossary is not None:
            analysis = analyze(post.ocr_text if image else post.text)
            names = [f.entry for f in self.glossary.current().find(analysis)]
        # A follow-up's thread (the posts of the alerts it replies to, back to the story's
        # first) is above it in the chat: none of them is its background.
        # Their links and dates only (storage.models.ThreadPost): a thread of hundreds of
        # updates was read whole for each update's draft.
        thread: list[ThreadPost] = []
        if update and alert.reply_to_alert is not None:
            thread = await self.store.posts.of_thread(alert.reply_to_alert)
        # A forward in the thread stands for its original there as here.
        told = frozenset({p.permalink for p in thread} | {origin_of(p).link for p in thread})
        if (post.id, rule, told) not in backgrounds:
            # None at all when the desk turned the background off. The thread's own posts are
            # left out by the search's query: they are never read.
            backgrounds[(post.id, rule, told)] = await earlier_posts(
                self.store,
                post,
                rule,
                limit=self.background,
                leave_out=told,
                leave_out_ids={p.id for p in thread},
            )
        earlier = backgrounds[(post.id, rule, told)]
        extra: dict[str, Any] = {}
        if update:
            # A follow-up on the same story: a reply with a ready update paragraph, dated when
            # it falls on another day than the story's alert.
            story = next((p for p in thread if p.id == story_id), None)
            extra = {"update": True, "thread_date": story.date if story is not None else None}
        earlier = earlier.at_most(self.background)
        return await self.compose_for(
            "new",
            post,
            src,
            str(req.get("lang") or "uk"),
            str(req.get("tz") or "Europe/Kyiv"),
            **where,
            **extra,
            rule=rule,
            background=earlier,
            glossary=names,
            translate=self.translate,
        )

    async def _post_at(self, post_id: int, version: int) -> StoredPost:
        """The post as it read when the alert was queued: an edit or a deletion since then has
        alerts of its own."""
        post = await self.store.posts.get_by_id(post_id)
        if post is None:
            raise LookupError(f"post {post_id} is no longer stored")
        if post.version != version:
            found = next(
                (v for v in await self.store.posts.versions(post_id) if v.version == version),
                None,
            )
            if found is not None:
                post = replace(post, text=found.text, version=version, edit_date=found.edit_date)
        if post.deleted_at is not None:
            post = replace(post, deleted_at=None)
        return post
