"""The pipeline's plain parts: its result, the alert's arguments, where rules matched, and how
events are prepared for storage and cut into chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from bot.desk.quiet import in_quiet_hours
from bot.ingest.drafter import request
from bot.matching import Analysis, RuleMatch, Span, analyze
from storage.evidence import post_json
from storage.ingest import NewPost
from storage.models import Person, Rule, StoredPost
from storage.records import Event, Post


@dataclass
class IngestResult:
    stored: int = 0  # new posts
    edited: int = 0  # new versions of stored posts
    deleted: int = 0
    removed: int = 0  # messages of an album deleted while the album stays up
    duplicates: int = 0  # events that changed nothing
    alerts: int = 0  # alerts enqueued

    def add(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.edited += other.edited
        self.deleted += other.deleted
        self.removed += other.removed
        self.duplicates += other.duplicates
        self.alerts += other.alerts


def alert_args(
    person: Person,
    post: StoredPost,
    kind: str,
    payload: dict[str, Any],
    rule_id: int | None,
    reply_to: int | None,
    version: int | None = None,
    *,
    spans: Sequence[Span] | None = None,
    drafting: bool = False,
) -> dict[str, Any]:
    """AlertRepo.enqueue's arguments. `drafting`: `payload` says what to draft (the drafter
    writes it after the commit, bot/ingest/drafter.py)."""
    return {
        "drafting": drafting,
        "spans": None if spans is None else [(s.start, s.end, s.term) for s in spans],
        "person_id": person.id,
        "post_id": post.id,
        "kind": kind,
        "version": post.version if version is None else version,
        "payload": payload,
        "rule_id": rule_id,
        "reply_to_alert": reply_to,
        # A person who blocked the bot keeps their alerts, parked until they return; in quiet
        # hours they are parked too and arrive as one digest afterwards.
        "held": not person.reachable or in_quiet_hours(person, datetime.now(UTC)),
    }


@dataclass(frozen=True, slots=True)
class SpanMap:
    """Where each rule that matched a post matched it, worked out for the rules an alert is
    drafted for (a post may match a hundred rules; an alert shows one)."""

    by_rule: dict[int, RuleMatch] = field(default_factory=dict)

    def for_rule(self, rule_id: int | None) -> tuple[Span, ...]:
        """Where one rule matched, in the text's order, each place once (RuleMatch.spans
        are); empty when it no longer does."""
        found = self.by_rule.get(rule_id) if rule_id is not None else None
        return found.spans if found is not None else ()


def new_post(post: Post, analysis: Analysis) -> NewPost:
    """The post as storage takes it; the evidence as capture.version_record makes it."""
    return new_post_from(post, analysis.norm, analysis.lemma_text)


def new_post_from(post: Post, norm: str, lemmas: str) -> NewPost:
    """new_post from the analysis's two FTS columns (an import's worker process sends only
    these, bot/ingest/analyst.py)."""
    return NewPost(post, norm, lemmas, post.origin, post.raw or post_json(post))


# A post ready to store, and its analysis if it was analysed in this process (an import's
# worker process sends only what storing needs: None, analysed again here if needed).
Prepared = tuple[Analysis | None, NewPost]


def prepare(post: Post) -> Prepared:
    analysis = analyze(post.text)
    return analysis, new_post(post, analysis)


def chunks(events: Iterable[Event], size: int) -> Iterator[list[Event]]:
    it = iter(events)
    while batch := list(islice(it, size)):
        yield batch


@dataclass(frozen=True, slots=True)
class Owed:
    """Who is owed a new post, decided from the rules that matched it before anyone asks who
    the source's recipients are: a desk rule alerts everyone, a personal rule its owner (the
    highest priority wins). Each rule's spans are worked out here, on the event loop, so that
    `alerts` is plain work (storage may run it in its database thread, storage/ingest.py)."""

    desk: tuple[Rule, tuple[Span, ...]] | None
    personal: dict[int, tuple[Rule, tuple[Span, ...]]]
    skip: frozenset[int] = frozenset()
    version: int = 1
    image: bool = False  # the rules matched the text read from the post's pictures

    def alerts(self, post: StoredPost, recipients: Sequence[Person]) -> list[dict[str, Any]]:
        """AlertRepo.enqueue's arguments for each recipient owed the post, drafts to follow."""
        out: list[dict[str, Any]] = []
        for person in recipients:
            owed = self.personal.get(person.id) or self.desk
            if person.id in self.skip or owed is None:
                continue
            # The quote is chosen by where THIS rule matched: names and places that other
            # rules look for must not outvote the story's own words.
            rule, spans = owed
            out.append(
                alert_args(
                    person,
                    post,
                    "new",
                    request(person, rule=rule.query, spans=spans, image=self.image),
                    rule.id,
                    None,
                    self.version,
                    # Words found in the picture are offsets into the OCR text, not the post's.
                    spans=() if self.image else spans,
                    drafting=True,
                )
            )
        return out


def owed(
    matches: Sequence[RuleMatch],
    rules: Mapping[int, Rule],
    *,
    skip: Iterable[int] = (),
    version: int = 1,
    image: bool = False,
) -> Owed | None:
    """Owed for these matches (of rules known in `rules`); None when none of them alerts."""
    desk: Rule | None = None
    personal: dict[int, Rule] = {}
    found: dict[int, RuleMatch] = {}
    for m in matches:
        rule = rules.get(m.rule_id)
        if rule is None:
            continue
        found[rule.id] = m
        if rule.owner_id is None:
            if desk is None or rule.priority > desk.priority:
                desk = rule
        elif rule.owner_id not in personal or rule.priority > personal[rule.owner_id].priority:
            personal[rule.owner_id] = rule
    if desk is None and not personal:
        return None
    spans = SpanMap(found)
    return Owed(
        (desk, spans.for_rule(desk.id)) if desk is not None else None,
        {owner: (rule, spans.for_rule(rule.id)) for owner, rule in personal.items()},
        frozenset(skip),
        version,
        image,
    )
