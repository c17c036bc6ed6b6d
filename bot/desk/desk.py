"""The desk: people, sources, rules and preferences, shared by the bot commands and the CLI twins.

Every check an editor's input goes through lives here once, so `/people add` and
`wirewatch people add` accept and refuse the same things with the same words. Errors are
`DeskError` with a message meant for the person who typed the command. No SQL here: only the
storage repositories.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.desk.inputs import (
    DeskError,
    clip,
    parse_duration,
    parse_hhmm,
    parse_quiet,
    parse_role,
    parse_who,
    parse_zone,
    source_ref,
)
from bot.desk.search import SearchHit
from bot.desk.words import LANG_WORDS, OFF_WORDS
from bot.matching import (
    RuleSyntaxError,
    match_rule,
    parse_rule,
    rule_sources,
    rule_to_json,
    to_text,
)
from bot.settings import Settings
from storage.models import GENDERS, LANGS, Person, Rule, Source
from storage.people import DESK_CHATS_KEY
from storage.records import SourceError
from storage.store import Store

log = logging.getLogger(__name__)

RANK: dict[str, int] = {"journalist": 1, "editor": 2, "admin": 3}
RULE_TEST_POSTS = 500  # /rule test tries the newest posts, before the rule is saved
RULE_REACH_POSTS = 200  # a rule just added is tried on these, to warn of a flood
FLOOD_MIN_POSTS = 20  # fewer recent posts than this say nothing about a rule's reach
MAX_QUERY = 1000  # characters in a stored rule: longer is a paste accident, not a rule
MAX_ATTRIBUTION = 200
_NAME_KEPT = 128  # a Telegram name is at most 64 + 64 characters (first and last)


class Follower(Protocol):
    """What the desk needs of the Telethon listener (sources.telegram.listener.Listener fits)."""

    async def follow(self, username_or_link: str) -> Source: ...
    async def unfollow(self, username: str) -> Source: ...


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchResult:
    source: Source
    followed: bool  # the listener follows it now (False: registered, followed at start)
    created: bool


@dataclass(frozen=True, slots=True)
class RuleTest:
    rule: str  # the rule as the parser understood it
    tried: int
    hits: list[SearchHit]


@dataclass(frozen=True, slots=True)
class RuleReach:
    unknown: list[str]  # channels the rule names with from: that are not sources
    test: RuleTest

    @property
    def floods(self) -> bool:
        """Matches at least half of enough recent posts to say so."""
        return self.test.tried >= FLOOD_MIN_POSTS and 2 * len(self.test.hits) >= self.test.tried


# -- the desk --------------------------------------------------------------------------------


class Desk:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        listener: Follower | None = None,
        on_prefs: Callable[[Person], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.listener = listener
        # Called after a person's digest time or zone changes (re-schedules their daily job).
        self.on_prefs = on_prefs
        self._desk_chats: frozenset[int] | None = None

    async def desk_chats(self, *, fresh: bool = False) -> frozenset[int]:
        """Group chats an admin registered (/deskchat on): the bot answers only there.
        `fresh`: read again, not from memory (a group's id changes when Telegram upgrades it
        to a supergroup, and the notifier may be the first to learn it)."""
        if self._desk_chats is None or fresh:
            found = await self.store.state.get(DESK_CHATS_KEY)
            self._desk_chats = (
                frozenset(int(c) for c in json.loads(found[0])) if found else frozenset()
            )
        return self._desk_chats

    async def set_desk_chat(self, chat_id: int, on: bool, *, actor: int | None) -> bool:
        """Register (or drop) a group as a desk chat; False if it already was (or was not)."""
        chats = await self.store.people.set_desk_chat(chat_id, on)
        if chats is None:
            await self.desk_chats(fresh=True)
            return False
        self._desk_chats = chats
        await self.audit(actor, "deskchat on" if on else "deskchat off", str(chat_id))
        return True

    async def audit(self, actor: int | None, action: str, detail: str = "") -> None:
        await self.store.state.audit(actor, action, detail)

    # -- people ------------------------------------------------------------------------------

    async def identify(
        self, user_id: int, username: str | None, name: str | None = None
    ) -> Person | None:
        """The person behind a Telegram user, or None for a stranger.

        Admins listed in settings are admins even if the table says otherwise; their row is
        created on first contact so they have preferences. A person added by @username is bound
        to this user id the first time they write. `name` (their Telegram name) is kept when it
        changed, so that /people names them: a write only on first contact or a rename.
        """
        person = await self.store.people.by_user_id(user_id)
        if person is None and username:
            by_name = await self.store.people.by_username(username)
            if by_name is not None and by_name.user_id is None:
                await self.store.people.bind_user_id(by_name.id, user_id)
                log.info("person %s bound to user id %s", by_name.id, user_id)
                person = await self.store.people.get(by_name.id)
        if user_id in self.settings.bot.admins:
            if person is None:
                person = await self.store.people.add(
                    role="admin",
                    user_id=user_id,
                    username=username,
                    lang=self.settings.lang,
                    tz=self.settings.tz,
                )
            elif person.role != "admin":
                person = replace(person, role="admin")
        name = " ".join((name or "").split())[:_NAME_KEPT]
        if person is not None and name and person.display != name:
            await self.store.people.set_pref(person.id, "display", name)
            person = replace(person, display=name)
        return person

    async def people(self) -> list[Person]:
        return await self.store.people.list()

    async def find_person(self, who: str) -> Person | None:
        uid, uname = parse_who(who)
        if uid is not None:
            return await self.store.people.by_user_id(uid)
        assert uname is not None
        return await self.store.people.by_username(uname)

    async def add_person(self, who: str, role: str, *, actor: int | None) -> Person:
        uid, uname = parse_who(who)
        checked = parse_role(role)
        known = await self.find_person(who)
        target = uid if uid is not None else known.user_id if known is not None else None
        if target is not None and target == actor and known is not None and checked != known.role:
            # An admin who demotes themselves by a typo cannot undo it, and the last admin
            # added by /people would leave the desk with none.
            raise DeskError("you cannot change your own role; another admin can")
        self._settings_admin_stays(target, checked, known)
        person = await self.store.people.add(
            role=checked,
            user_id=uid,
            username=uname,
            lang=self.settings.lang,
            tz=self.settings.tz,
            added_by=actor,
        )
        # A record, not prose: read the same in every language.
        await self.audit(actor, "people.add", f"{person.label} → {checked}")
        return person

    async def remove_person(self, who: str, *, actor: int | None) -> Person:
        person = await self.find_person(who)
        if person is None:
            raise DeskError("{who} is not on the desk", who=clip(who, 40))
        if person.user_id is not None and person.user_id == actor:
            raise DeskError("you cannot remove yourself")
        self._settings_admin_stays(person.user_id, None, person)
        await self.store.people.remove(person.id)
        await self.audit(actor, "people.remove", person.label)
        return person

    def _settings_admin_stays(
        self, user_id: int | None, role: str | None, known: Person | None
    ) -> None:
        """An admin listed in the settings stays one whatever the table says: demoting or
        removing them here answered "done" while nothing changed for them."""
        if user_id in self.settings.bot.admins and role != "admin":
            who = known.label if known is not None else str(user_id)
            raise DeskError(
                "{who} is an admin through the settings (WIREWATCH_BOT__ADMINS); change it there",
                who=who,
            )

    # -- sources -----------------------------------------------------------------------------

    async def sources(self) -> list[Source]:
        return await self.store.sources.list()

    async def watch(
        self,
        ref: str,
        *,
        person: str | None = None,
        role: str | None = None,
        lang: str = "uk",
        gender: str | None = None,
        actor: int | None,
    ) -> WatchResult:
        """Follow a channel now (with a listener) or register it for the next start."""
        username = source_ref(ref)
        if lang not in LANGS:
            raise DeskError("language must be one of {langs}", langs=", ".join(LANGS))
        if gender is not None and gender not in GENDERS:
            raise DeskError("gender must be m, f, n (neuter) or pl (plural)")
        # One message per field: a field name handed in as a parameter stayed English.
        if person is not None and len(person) > MAX_ATTRIBUTION:
            raise DeskError("the person's name is longer than {n} characters", n=MAX_ATTRIBUTION)
        if role is not None and len(role) > MAX_ATTRIBUTION:
            raise DeskError("the role is longer than {n} characters", n=MAX_ATTRIBUTION)
        existing = await self.store.sources.by_username(username)
        followed = False
        if self.listener is not None:
            try:
                await self.listener.follow(username)
            except SourceError as exc:
                if existing is None:
                    # The listener registered the name to remember the error; a channel that
                    # does not exist is not a source of ours.
                    gone = await self.store.sources.by_username(username)
                    if gone is not None:
                        await self.store.sources.set_active(gone.id, False)
                raise DeskError.wrap(exc) from exc
            followed = True
        attribution: dict[str, str | None] = {}
        if person:
            attribution[f"person_{lang}"] = person.strip()
        if role:
            attribution[f"role_{lang}"] = role.strip()
        src = await self.store.sources.upsert(username, attribution=attribution, gender=gender)
        await self.audit(
            actor,
            "sources.add",
            f"@{username}" + (f" {person}" if person else "") + (f" | {role}" if role else ""),
        )
        return WatchResult(src, followed, existing is None)

    async def unwatch(self, ref: str, *, actor: int | None) -> Source:
        username = source_ref(ref)
        src = await self.store.sources.by_username(username)
        if src is None or not src.active:
            raise DeskError("@{channel} is not a source we follow", channel=username)
        if self.listener is not None:
            try:
                src = await self.listener.unfollow(username)
            except SourceError as exc:
                raise DeskError.wrap(exc) from exc
        else:
            await self.store.sources.set_active(src.id, False)
        await self.audit(actor, "sources.remove", f"@{username}")
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def source(self, ref: str) -> Source:
        username = source_ref(ref)
        src = await self.store.sources.by_username(username)
        if src is None:
            raise DeskError("@{channel} is not a source we follow", channel=username)
        return src

    # -- rules -------------------------------------------------------------------------------

    async def rules(self, *, viewer: Person | None = None) -> list[Rule]:
        """Every rule (CLI, editors), or a journalist's own plus the desk's."""
        if viewer is None or RANK[viewer.role] >= RANK["editor"]:
            return await self.store.rules.list()
        return await self.store.rules.list(owner_id=viewer.id, include_desk=True)

    @staticmethod
    def parse(query: str) -> str:
        """The rule as the parser understood it; DeskError with the parser's message."""
        q = query.strip()
        if not q:
            raise DeskError("the rule is empty")
        if len(q) > MAX_QUERY:
            raise DeskError("a rule is at most {n} characters", n=MAX_QUERY)
        try:
            return to_text(parse_rule(q))
        except RuleSyntaxError as exc:
            raise DeskError("bad rule: {reason}", reason=exc) from exc

    async def add_rule(
        self, query: str, *, owner: Person | None, actor: int | None
    ) -> tuple[Rule, bool]:
        """(rule, created): a rule already on the list is returned, not added twice."""
        self.parse(query)
        q = query.strip()
        node = parse_rule(q)  # parses: self.parse just said so
        owner_id = owner.id if owner is not None else None
        compiled = rule_to_json(node)
        existing = await self.store.rules.find(q, owner_id)
        if existing is None:
            # The same rule typed again with other spacing, case or the operator in the other
            # alphabet parses the same: a second copy would be a second line in /rules, and
            # removing one would leave the other alerting.
            owned = await self.store.rules.list(owner_id=owner_id, include_desk=False)
            existing = next(
                (r for r in owned if r.owner_id == owner_id and r.compiled == compiled), None
            )
        if existing is not None:
            return existing, False
        rule = await self.store.rules.add(q, compiled, owner_id=owner_id, created_by=actor)
        whose = owner.label if owner is not None else "desk"
        await self.audit(actor, "rules.add", f"#{rule.id} ({whose}) {q}")
        return rule, True

    async def remove_rule(self, rule_id: int, *, by: Person | None, actor: int | None) -> Rule:
        """`by` None is the operator (CLI); a journalist removes only their own rules."""
        rule = await self.store.rules.get(rule_id)
        if rule is None or not rule.active:
            raise DeskError("there is no rule #{id}", id=rule_id)
        if by is not None and RANK[by.role] < RANK["editor"] and rule.owner_id != by.id:
            raise DeskError("rule #{id} is not yours; ask an editor", id=rule_id)
        await self.store.rules.remove(rule_id)
        await self.audit(actor, "rules.remove", f"#{rule_id} {rule.query}")
        return rule

    async def test_rule(self, query: str, *, limit: int = RULE_TEST_POSTS) -> RuleTest:
        understood = self.parse(query)
        node = parse_rule(query.strip())
        posts = await self.store.posts.recent(limit=limit)
        hits: list[SearchHit] = []
        for post in posts:
            m = match_rule(node, post.text, post.channel)
            if m is not None:
                hits.append(SearchHit(post, m.spans))
            elif post.ocr_text and (m := match_rule(node, post.ocr_text, post.channel)):
                hits.append(SearchHit(post, m.spans, in_image=True))
        return RuleTest(understood, len(posts), hits)

    async def rule_reach(self, query: str, *, limit: int = RULE_REACH_POSTS) -> RuleReach:
        """What a just-saved rule will do, for the person who saved it: the from: channels we
        do not follow (a typo there is a rule that never fires), and how many of the newest
        posts it matches (a rule matching most of them floods everyone it alerts)."""
        node = parse_rule(query.strip())
        unknown = [
            name
            for name in sorted(rule_sources(node))
            if await self.store.sources.by_username(name) is None
        ]
        return RuleReach(unknown, await self.test_rule(query, limit=limit))

    async def parse_rule_id(self, value: str) -> int:
        v = value.strip().lstrip("#")
        if not re.fullmatch(r"\d{1,9}", v):
            raise DeskError("not a rule number: '{value}'", value=clip(value, 20))
        return int(v)

    # -- preferences -------------------------------------------------------------------------

    async def _fresh(self, person: Person) -> Person:
        out = await self.store.people.get(person.id)
        assert out is not None
        # An admin from settings keeps the role the middleware gave them.
        return replace(out, role=person.role)

    async def set_lang(self, person: Person, lang: str) -> Person:
        v = LANG_WORDS.get(lang.strip().lower(), "")
        if v not in LANGS:
            raise DeskError("language must be one of {langs}", langs=", ".join(LANGS))
        await self.store.people.set_lang(person.id, v, chosen=True)
        fresh = await self._fresh(person)
        if self.on_prefs is not None:
            await self.on_prefs(fresh)
        return fresh

    async def follow_app_lang(self, person: Person, lang: str) -> Person:
        """Someone who never chose a language: theirs follows their Telegram app's."""
        await self.store.people.set_lang(person.id, lang, chosen=False)
        return await self._fresh(person)

    async def set_tz(self, person: Person, zone: str) -> Person:
        name = parse_zone(zone)
        await self.store.people.set_pref(person.id, "tz", name)
        fresh = await self._fresh(person)
        if self.on_prefs is not None:
            await self.on_prefs(fresh)
        return fresh

    async def set_quiet(self, person: Person, spec: str) -> Person:
        window = parse_quiet(spec)
        start, end = window if window is not None else (None, None)
        await self.store.people.set_pref(person.id, "quiet_from", start)
        await self.store.people.set_pref(person.id, "quiet_to", end)
        return await self._fresh(person)

    async def set_digest(self, person: Person, at: str) -> Person:
        value = None if at.strip().lower() in OFF_WORDS else parse_hhmm(at)
        await self.store.people.set_pref(person.id, "digest_at", value)
        fresh = await self._fresh(person)
        if self.on_prefs is not None:
            await self.on_prefs(fresh)
        return fresh

    async def set_paused(self, person: Person, paused: bool) -> Person:
        await self.store.people.set_pref(person.id, "paused", int(paused))
        if not paused:
            # Alerts the notifier parked while paused go out now.
            await self.store.alerts.release_person(person.id)
        return await self._fresh(person)

    async def mute(
        self, person: Person, ref: str, duration: str | None, *, now: datetime | None = None
    ) -> tuple[Source, datetime | None]:
        src = await self.source(ref)
        delta = parse_duration(duration) if duration else None
        return src, await self.mute_id(person, src.id, delta, now=now)

    async def mute_id(
        self,
        person: Person,
        source_id: int,
        delta: timedelta | None,
        *,
        now: datetime | None = None,
    ) -> datetime | None:
        moment = now or datetime.now(UTC)
        until = moment + delta if delta is not None else None
        await self.store.people.mute(
            person.id, source_id, int(until.timestamp()) if until is not None else None
        )
        return until

    async def unmute(self, person: Person, ref: str) -> tuple[Source, bool]:
        """The channel, and whether it was muted (a lapsed mute counts as not muted: its
        alerts already flow), so the reply can say what actually changed."""
        src = await self.source(ref)
        was_muted = src.id in await self.store.people.muted_sources(person.id)
        await self.store.people.unmute(person.id, src.id)
        return src, was_muted

    async def mutes(self, person: Person) -> list[tuple[Source, datetime | None]]:
        out: list[tuple[Source, datetime | None]] = []
        for source_id, until in (await self.store.people.muted_sources(person.id)).items():
            src = await self.store.sources.get(source_id)
            if src is not None:
                out.append((src, datetime.fromtimestamp(until, UTC) if until else None))
        return out

    # -- status ------------------------------------------------------------------------------

    async def status(self) -> dict[str, object]:
        """What the database knows; the service adds the listener's live view."""
        state = await self.store.state.all()
        return {
            "outbox": await self.store.alerts.counts(),
            "outbox_depth": await self.store.alerts.depth(),
            "db_bytes": await self.store.size_bytes(),
            "posts": await self.store.posts.count(),
            "sources": [
                {
                    "username": s.username,
                    "active": s.active,
                    "last_post_at": s.last_post_at.isoformat() if s.last_post_at else None,
                    "error": s.error,
                }
                for s in await self.store.sources.list()
            ],
            "state": {k: v for k, (v, _) in state.items()},
        }


def rank(person: Person | None) -> int:
    return 0 if person is None else RANK.get(person.role, 0)


__all__ = [
    "DESK_CHATS_KEY",
    "RANK",
    "Desk",
    "Follower",
    "RuleTest",
    "WatchResult",
    "rank",
]
