"""Ingest: store a post (a new version on edit), match rules, enqueue alerts, in one transaction.

Every source (Telethon listener, JSONL feed, Desktop export) hands its events here. Handling is
idempotent: the same event twice stores nothing new and alerts nobody twice, so a source may replay
freely after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.desk.glossary_file import GlossaryWatch
from bot.drafting.style import DEFAULT_STYLE, HouseStyle
from bot.ingest.analyst import AnalysisWorkerError, WorkerStats, analysed
from bot.ingest.capture import Capture, version_record
from bot.ingest.deletions import delete
from bot.ingest.drafter import Drafter
from bot.ingest.origins import alerted_about_origin
from bot.ingest.steps import (
    IngestResult,
    Owed,
    Prepared,
    SpanMap,
    alert_args,
    new_post,
    owed,
    prepare,
)
from bot.ingest.versions import before_deletion, is_replay, other_edit, reread, what_changed
from bot.matching import Analysis, Matcher, RuleMatch, analyze, rule_from_json
from storage.db import now
from storage.ingest import AlertPlan, Thread
from storage.models import Person, Rule, Source, StoredPost, to_ts
from storage.records import Deletion, Event, Post, permalink
from storage.store import Store

log = logging.getLogger(__name__)

__all__ = ["IngestResult", "Pipeline"]


@dataclass
class _Rules:
    version: int = -1
    matcher: Matcher = field(default_factory=Matcher)
    by_id: dict[int, Rule] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        store: Store,
        *,
        alert: bool = True,
        on_enqueue: Callable[[], None] | None = None,
        style: HouseStyle = DEFAULT_STYLE,
        thread_window: timedelta = timedelta(hours=6),
        background: int = 3,
        glossary: GlossaryWatch | None = None,
        capture: Capture | None = None,
        translate: bool = False,
        drafter: Drafter | None = None,
        defer_drafts: bool = False,
    ) -> None:
        self.store = store
        self.alert = alert  # False for back-fills: store and index, tell nobody
        # Called when alerts were queued: with `defer_drafts`, the drafter's wake-up.
        self.on_enqueue = on_enqueue
        # A post from the same source matching the same rule this soon after an alert is a
        # follow-up: it replies to that alert with an update paragraph.
        self.thread_window = thread_window
        self.glossary = glossary or GlossaryWatch(None)
        # Writes the drafts: the desk's house style, the older posts a new alert lists under
        # "Earlier:", glossary names; `translate`: a translator is running, so quotes in
        # another language than the reader's are marked for it (the translation follows as a
        # reply).
        self.drafter = drafter or Drafter(
            store, style=style, background=background, glossary=self.glossary, translate=translate
        )
        # A new post's alerts are queued with what to draft, in its transaction; their drafts
        # are written after the commit: by `handle` itself before it returns, or, with
        # `defer_drafts`, by the drafter's own task (the service), so that storing the next
        # post never waits for a draft.
        self.defer_drafts = defer_drafts
        # Media of stored posts and the text in their images, read off the event loop.
        self.capture = capture
        if capture is not None:
            capture.pipeline = self
        self._rules = _Rules()
        self.worker_stats = WorkerStats()  # the last handle_batch's analysis worker

    @property
    def translate(self) -> bool:
        return self.drafter.translate

    @translate.setter
    def translate(self, on: bool) -> None:
        self.drafter.translate = on

    async def queued(self, alerts: int) -> None:
        """`alerts` were queued and committed: write their drafts unless deferred, and wake
        whoever waits for them."""
        if not alerts:
            return
        if not self.defer_drafts:
            await self.drafter.run()
        if self.on_enqueue is not None:
            self.on_enqueue()

    # -- rules -----------------------------------------------------------------------------

    async def refresh_rules(self) -> None:
        """Rebuild the matcher when the rules table changed (the CLI may change it under us)."""
        version = await self.store.rules.version()
        if version == self._rules.version:
            return
        rules = await self.store.rules.list(active_only=True)
        sources = {s.id: s.username for s in await self.store.sources.list()}
        matcher = Matcher()
        by_id: dict[int, Rule] = {}
        for rule in rules:
            try:
                node = rule_from_json(rule.compiled)
            except (ValueError, KeyError, TypeError) as exc:
                # Only parsed rules are stored, so this means a schema drift: skip, say so.
                log.error("rule %s cannot be loaded (%s); skipped", rule.id, exc)
                continue
            channel = sources.get(rule.source_id) if rule.source_id is not None else None
            matcher.add(rule.id, node, channel=channel)
            by_id[rule.id] = rule
        self._rules = _Rules(version, matcher, by_id)
        log.info("matcher rebuilt with %d rules", len(by_id))

    # -- entry points ----------------------------------------------------------------------

    async def handle(self, event: Event) -> IngestResult:
        if isinstance(event, Deletion):
            await self.refresh_rules()
            async with self.store.transaction():
                result = await self._delete(event)
        else:
            # Analysed and matched before the database is asked anything: a new post no rule
            # wants is stored and committed in one round trip to the database thread, the
            # rules' version checked in the same trip (storage/ingest.py).
            analysis = analyze(event.text)
            async with self.store.ingest.transaction():
                result = await self._post(event, analysis, may_commit=True)
        await self.queued(result.alerts)
        return result

    async def handle_batch(
        self,
        events: Iterable[Event],
        *,
        chunk: int = 500,
        progress: Callable[[int], None] | None = None,
        worker: bool | None = None,
    ) -> IngestResult:
        """Many events, `chunk` per transaction: bulk imports stay fast and crash-safe.

        Same result as calling handle() on each event in order; new plain posts take a bulk
        lane (one insert statement per chunk), everything else the per-event path.

        `worker`: analyse the chunks ahead in a worker process (bot/ingest/analyst.py) while
        this one writes: None, for an import of analyst.WORKER_FROM events or more; True,
        always; False, never. Only when no post is matched here (no alerts or no rules):
        matching needs each post's whole analysis in this process. AnalysisWorkerError: the
        worker failed; the chunks committed before are stored and a new import resumes.
        """
        await self.refresh_rules()
        total = IngestResult()
        self.worker_stats = WorkerStats()
        if self.alert and self._rules.by_id:
            worker = False

        async def flush(batch: list[Event], analyses: dict[int, Prepared]) -> None:
            async with self.store.transaction():
                lane: list[Post] = []
                for ev in batch:
                    if isinstance(ev, Post) and ev.grouped_id is None:
                        lane.append(ev)
                        continue
                    total.add(await self._bulk(lane, analyses))
                    lane = []
                    total.add(await self._dispatch(ev))
                total.add(await self._bulk(lane, analyses))
            if progress is not None:
                progress(len(batch))

        # Each chunk is analysed (in-process, or by the worker ahead) while the previous one is
        # written in the database thread.
        writing: asyncio.Task[None] | None = None
        stream = analysed(events, chunk, worker=worker, stats=self.worker_stats)
        try:
            async with aclosing(stream):
                async for batch, analyses in stream:
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(flush(batch, analyses))
            if writing is not None:
                await writing
        except AnalysisWorkerError:
            # The chunk being written was analysed whole: it commits before the error is told.
            if writing is not None:
                await writing
            raise
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
        await self.queued(total.alerts)
        return total

    async def _bulk(self, posts: list[Post], analyses: dict[int, Prepared]) -> IngestResult:
        """Plain posts: new ones inserted together per channel; then, in the batch's order,
        their alerts and the rest (edits, repeats) one by one."""
        res = IngestResult()
        if not posts:
            return res
        by_channel: dict[str, list[tuple[int, Post]]] = {}
        for n, p in enumerate(posts):
            by_channel.setdefault(p.channel, []).append((n, p))
        # (position in the batch, source, post, analysis, row id); source None for an event
        # that takes the per-event path (an edit or a repeat).
        steps: list[tuple[int, Source | None, Post, Any, int]] = []
        for numbered in by_channel.values():
            lane = [(n, p, *(analyses.get(id(p)) or prepare(p))) for n, p in numbered]
            done = await self.store.ingest.store_many([item for _, _, _, item in lane])
            src = done.source
            if done.created:
                log.info("new source @%s registered from an incoming post", src.username)
            res.stored += len(done.ids)
            known = set(done.known)
            for k, (n, p, analysis, _) in enumerate(lane):
                if k in known:
                    # An edit or a repeat: the per-event path decides.
                    steps.append((n, None, p, analysis, 0))
                    continue
                if self.capture is not None:
                    self.capture.submit_post(p, p.message_id, alert=self.alert)
                if self.alert and src.active and not p.backfill and self._rules.by_id:
                    steps.append((n, src, p, analysis, done.ids[p.message_id]))
        # Alerts in the order the events came, as handle() one by one would queue them: an
        # import read channel by channel must not reach a journalist channel by channel.
        for _, step_src, p, analysis, post_id in sorted(steps, key=lambda step: step[0]):
            if step_src is None:
                res.add(await self._post(p, analysis))
                continue
            # Prepared by an import's worker (no analysis: there were no rules to match when
            # the import began, and some came since): analysed here.
            analysis = analysis or analyze(p.text)
            if not self._rules.matcher.match(analysis, step_src.username):
                continue
            stored = await self.store.posts.get_by_id(post_id)
            assert stored is not None
            res.alerts += await self._alert_new(step_src, stored, analysis, set())
        return res

    async def _dispatch(self, event: Event) -> IngestResult:
        if isinstance(event, Deletion):
            return await self._delete(event)
        return await self._post(event)

    # -- posts -----------------------------------------------------------------------------

    async def _source(self, channel: str, channel_id: int | None, title: str | None) -> Source:
        src = await self.store.sources.by_username(channel)
        if src is None and channel_id is not None:
            src = await self.store.sources.by_peer(channel_id)
        if src is None:
            log.info("new source @%s registered from an incoming post", channel)
            src = await self.store.sources.ensure(channel, peer_id=channel_id, title=title)
        return src

    async def _post(
        self, post: Post, analysis: Analysis | None = None, *, may_commit: bool = False
    ) -> IngestResult:
        """`may_commit`: the caller's transaction is `store.ingest.transaction()` of its own,
        which a new post that alerts nobody may end in the trip that stores it."""
        analysis = analysis or analyze(post.text)
        quiet_as: str | None = None
        plan: AlertPlan | None = None
        if may_commit:
            channel = post.channel.lstrip("@").lower()
            matches = (
                self._rules.matcher.match(analysis, channel)
                if self.alert and not post.backfill
                else []
            )
            if not matches:
                quiet_as = channel
            elif not post.forward_link:
                # Who is owed it is known now; storage queues their alerts and commits in the
                # trip that stores the post (a forward first asks who had its original).
                plan = self._plan(channel, owed(matches, self._rules.by_id))
        done = await self.store.ingest.store_post(
            new_post(post, analysis),
            rules_version=self._rules.version,
            quiet_as=quiet_as,
            # A post that will alert: whom to, read in the same trip.
            recipients=may_commit and quiet_as is None,
            plan=plan,
        )
        src = done.source
        if done.created:
            log.info("new source @%s registered from an incoming post", src.username)
        if done.rules_version != self._rules.version:
            await self.refresh_rules()
        if done.outcome == "known":
            return await self._known_post(src, post, analysis)
        if self.capture is not None:
            self.capture.submit_post(post, post.message_id, alert=self.alert)
        res = IngestResult(stored=1, alerts=done.alerts or 0)
        if done.committed or done.alerts is not None:
            return res
        assert done.post is not None
        res.alerts = await self._alert_new(
            src,
            done.post,
            analysis,
            set(),
            backfill=post.backfill,
            recipients=done.recipients,
            commit=may_commit,
        )
        return res

    async def _known_post(self, src: Source, post: Post, analysis: Analysis) -> IngestResult:
        """A message id we hold (an edit, a repeat) or an album's (its other messages)."""
        existing = await self.store.posts.get(src.id, post.message_id)
        if existing is not None:
            return await self.edit(src, existing, post, analysis)
        album_post = await self.store.posts.album_post_id(src.id, post.message_id)
        if album_post is not None:
            return await self._album_member_update(src, album_post, post)
        head = None
        if post.grouped_id is not None:
            head = await self.store.posts.by_album(src.id, post.grouped_id)
        assert head is not None, "storage found the post known"
        await self.store.posts.add_album_item(src.id, post.message_id, head.id, post.media_key)
        return await self._album_member_update(src, head.id, post)

    async def _album_member_update(self, src: Source, post_id: int, item: Post) -> IngestResult:
        """Another message of an album: its caption (if the album had none) becomes the text."""
        head = await self.store.posts.get_by_id(post_id)
        assert head is not None
        if self.capture is not None:
            self.capture.submit_post(item, item.message_id, alert=self.alert)
        if item.media:
            await self.store.posts.set_media(head.id, item.media)
        change = await what_changed(self.store, head, item)
        captioned = bool(item.text.strip()) and item.text != head.text
        if change.swap is not None and captioned and await self._caption_edit(head, item):
            # The album's words (this photo's caption) and this photo changed in one edit: one
            # version and one follow-up for both. Taken for a swap alone, the caption was lost.
            return await self.edit(src, head, item)
        if change.swap is not None or change.first_key is not None:
            # This photo was swapped for another (or is first identified).
            done = await other_edit(self, src, head, item, change)
            # The album's first caption may come with it: that is its text, kept below.
            if done.edited and not (captioned and not head.text.strip()):
                return done
        if not item.text.strip() or item.text == head.text:
            return IngestResult(duplicates=1)
        if not head.text.strip():
            # The caption arrived after the first item: this is the album's text, not an edit.
            analysis = analyze(item.text)
            version = await self.store.posts.add_version(
                head.id, item.text, analysis.norm, analysis.lemma_text, to_ts(item.edit_date)
            )
            await self.store.evidence.record(**version_record(src, item, head.message_id, version))
            stored = await self.store.posts.get_by_id(head.id)
            assert stored is not None
            already = {a.person_id for a in await self.store.alerts.originals(head.id)}
            alerts = await self._alert_new(src, stored, analysis, already, version=version)
            return IngestResult(stored=0, edited=0, alerts=alerts)
        if not await self._caption_edit(head, item):
            return IngestResult(duplicates=1)
        return await self.edit(src, head, item)

    async def _caption_edit(self, head: StoredPost, item: Post) -> bool:
        """Whether another message's caption, other than the album's text, is an edit of it."""
        if not head.text.strip():
            return False
        versions = await self.store.posts.versions(head.id)
        if versions and versions[0].text.strip():
            # The album's first message has its own caption, and that is the album's text.
            # Another photo's caption is not an edit of it: taking it as one sent everyone a
            # false "updated" reply, and a reconciliation re-reading both flipped the text back
            # and forth.
            return False
        # The album's text came from a later photo's caption (the first had none): a photo
        # never edited keeps its caption its own, not a new text for the album. Only an edited
        # message (Telegram, exports and feeds mark it with its edit date) can change the
        # caption the album took.
        return item.edit_date is not None

    async def edit(
        self,
        src: Source,
        existing: StoredPost,
        post: Post,
        analysis: Analysis | None = None,
        *,
        caption_gone: bool = False,
    ) -> IngestResult:
        """`post` as a new version of `existing` when it changes the text. `caption_gone`: the
        album's caption went with its deleted message (bot/ingest/deletions.py), so an empty
        text is the album's new text."""
        change = await what_changed(self.store, existing, post)
        if post.text == existing.text:
            return await other_edit(self, src, existing, post, change)
        if not caption_gone:
            if existing.grouped_id is not None and not post.text.strip():
                # An album item without a caption says nothing about the album's text (its
                # picture may have changed).
                return await other_edit(self, src, existing, post, change)
            if is_replay(post, await self.store.posts.versions(existing.id)):
                # Re-reading a feed replays the versions we already hold: storing one again
                # flipped the text back and told journalists of an edit the official never made.
                return IngestResult(duplicates=1)
        analysis = analysis or analyze(post.text)
        # Made before the deletion we already told journalists of: kept, not announced.
        late = before_deletion(existing, post)
        version = await self.store.posts.add_version(
            existing.id,
            post.text,
            analysis.norm,
            analysis.lemma_text,
            to_ts(post.edit_date) or now(),
            post.media,
            changed=change.words(text=True),
            links=change.links,
            media_of=change.swap,
            revive=not late,
        )
        await self.store.evidence.record(**version_record(src, post, existing.message_id, version))
        if change.swap is not None:
            await reread(self.store, existing.id)
        stored = await self.store.posts.get_by_id(existing.id)
        assert stored is not None
        res = IngestResult(edited=1)
        originals = await self.store.alerts.originals(existing.id)
        # A re-save that changed only spaces or line breaks is kept as a version (the record
        # holds every state) but is no news: it reached every journalist as "Updated" with the
        # same quote and nothing under "What changed".
        visible = post.text.split() != existing.text.split()
        if self.alert and src.active and visible and not late:
            _, spans = self._matches(analysis, src)
            for original in originals:
                person = await self.follow_up_to(original.person_id, src)
                if person is None:
                    continue
                # The rule the alert fired on, where it matches the new text.
                rule_spans = spans.for_rule(original.rule_id)
                payload = await self.drafter.compose(
                    "edit",
                    stored,
                    src,
                    person,
                    spans=rule_spans,
                    previous_text=existing.text,
                    media_change=change.media_news(post.media),
                )
                edit = alert_args(
                    person,
                    stored,
                    "edit",
                    payload,
                    original.rule_id,
                    original.id,
                    spans=rule_spans,
                )
                if await self.store.alerts.enqueue(**edit) is not None:
                    res.alerts += 1
        # An edit can make a post match for people who were not alerted before.
        res.alerts += await self._alert_new(
            src, stored, analysis, {o.person_id for o in originals}, version=version
        )
        return res

    async def _delete(self, event: Deletion) -> IngestResult:
        return await delete(self, event)

    # -- alerts ----------------------------------------------------------------------------

    def _plan(self, channel: str, owing: Owed | None) -> AlertPlan:
        """The alerts storage queues in the trip that stores a new post from `channel`, or
        None there (the caller goes the long way): the source turned out to be known by
        another name, or is inactive."""

        def plan(
            src: Source, post: StoredPost, recipients: Sequence[Person]
        ) -> tuple[list[dict[str, Any]], Thread] | None:
            if src.username != channel or not src.active or owing is None:
                return None
            return owing.alerts(post, recipients), self._thread(src, post)

        return plan

    def _thread(self, src: Source, post: StoredPost) -> Thread:
        """Where a follow-up's story is: the person's latest alert for the rule about a post of
        the source within the thread window; the follow-up replies to it and its draft opens
        with a ready update paragraph (bot/ingest/drafter.py)."""
        return Thread(src.id, to_ts(post.date - self.thread_window) or 0, to_ts(post.date) or 0)

    def _matches(self, analysis: Any, src: Source) -> tuple[list[RuleMatch], SpanMap]:
        matches = self._rules.matcher.match(analysis, src.username)
        by_rule = {m.rule_id: m for m in matches if m.rule_id in self._rules.by_id}
        return matches, SpanMap(by_rule)

    async def _alert_new(
        self,
        src: Source,
        post: StoredPost,
        analysis: Any,
        skip: set[int],
        *,
        version: int = 1,
        backfill: bool = False,
        image: bool = False,
        recipients: list[Person] | None = None,
        commit: bool = False,
    ) -> int:
        """Alert the people whose rules match. `image`: `analysis` is of the text read from
        the post's pictures, and the drafts say so instead of quoting it as the post's words.
        `recipients`: the source's, when the caller has them; `commit`: the alerts are the
        last writes of the caller's own transaction (Pipeline.handle), which ends with them."""
        if backfill or not (self.alert and src.active) or post.deleted_at is not None:
            return 0
        matches = self._rules.matcher.match(analysis, src.username)
        if not matches:
            return 0
        skip = skip | await alerted_about_origin(self.store, post)
        # Whom a forward of this post, or another forward of its original, reached already:
        # either may arrive first (a busy channel is polled, the forwarding one pushes).
        for link in {permalink(src.username, post.message_id), post.forward_link}:
            if link:
                skip |= await self.store.alerts.alerted_about_forwards(link)
        owing = owed(matches, self._rules.by_id, skip=skip, version=version, image=image)
        if owing is None:
            return 0
        if recipients is None:
            recipients = await self.store.people.recipients(src.id)
        ids = await self.store.ingest.enqueue(
            owing.alerts(post, recipients), thread=self._thread(src, post), commit=commit
        )
        return sum(alert_id is not None for alert_id in ids)

    async def follow_up_to(self, person_id: int, src: Source) -> Person | None:
        """Who gets an edit or deletion of a post they were alerted about: not someone removed,
        nor someone who has muted the source since (they said "no more from this channel")."""
        person = await self.store.people.get(person_id)
        if person is None or not person.active:
            return None
        if src.id in await self.store.people.muted_sources(person.id):
            return None
        return person
