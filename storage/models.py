"""Rows as frozen dataclasses: what storage hands to the rest of the program."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import aiosqlite

Role = Literal["admin", "editor", "journalist"]
Lang = Literal["uk", "en", "ru"]
AlertKind = Literal["new", "edit", "delete", "digest", "translation"]
ROLES: tuple[Role, ...] = ("admin", "editor", "journalist")
# Grammatical gender and number of a source, for verbs that agree with it in uk/ru.
GENDERS = ("m", "f", "n", "pl")
LANGS: tuple[Lang, ...] = ("uk", "en", "ru")


def ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def to_ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    username: str
    peer_id: int | None
    access_hash: int | None
    title: str | None
    person: dict[str, str | None]  # lang -> name
    role: dict[str, str | None]  # lang -> role
    gender: str | None  # grammatical gender and number: m, f, n or pl
    last_message_id: int
    last_post_at: datetime | None
    reconcile_every: int | None
    active: bool
    error: str | None
    short_role: dict[str, str | None] = field(default_factory=dict)  # lang -> short role

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> Source:
        return cls(
            id=r["id"],
            username=r["username"],
            peer_id=r["peer_id"],
            access_hash=r["access_hash"],
            title=r["title"],
            person={lang: r[f"person_{lang}"] for lang in ("uk", "en", "ru")},
            role={lang: r[f"role_{lang}"] for lang in ("uk", "en", "ru")},
            gender=r["grammar"],
            short_role={lang: r[f"short_role_{lang}"] for lang in ("uk", "en", "ru")},
            last_message_id=r["last_message_id"],
            last_post_at=ts(r["last_post_at"]),
            reconcile_every=r["reconcile_every"],
            active=bool(r["active"]),
            error=r["error"],
        )

    def person_in(self, lang: str) -> str | None:
        """The person's name in `lang`, else in any language we have."""
        return self.person.get(lang) or next((v for v in self.person.values() if v), None)

    def role_in(self, lang: str) -> str | None:
        return self.role.get(lang) or next((v for v in self.role.values() if v), None)


@dataclass(frozen=True, slots=True)
class StoredPost:
    id: int
    source_id: int
    channel: str
    message_id: int
    date: datetime
    text: str
    media: str | None
    grouped_id: int | None
    forward_from: str | None
    forward_link: str | None
    reply_to: int | None
    links: tuple[str, ...]
    edit_date: datetime | None
    deleted_at: datetime | None
    version: int
    ocr_text: str = ""  # text read from the post's images: never the official's own words
    lemmas: str = ""  # the FTS `lemmas` column: every word's keys (see bot.matching.analysis)
    ocr_lemmas: str = ""
    norm: str = ""  # the FTS `norm` column: the normalised text (search's checks read it)
    ocr_norm: str = ""
    # The message the post is cited by when not its own: an album whose first message the
    # channel deleted while other photos stay (storage/posts.py, remove_album_messages).
    link_id: int | None = None
    # What the post's own message's picture or file is (storage.records.Post.media_key).
    media_key: str | None = None

    @property
    def permalink(self) -> str:
        return f"https://t.me/{self.channel}/{self.link_id or self.message_id}"

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> StoredPost:
        # By position, through the row's column names looked up once per shape of row: a
        # sqlite3.Row lookup by name scans the names case-insensitively, and a search page
        # builds 20 of these (bench/import_search.py).
        i = _column_index(r)
        v = tuple(r)
        raw_links = v[i["links"]]
        date = ts(v[i["date"]])
        assert date is not None
        return cls(
            id=v[i["id"]],
            source_id=v[i["source_id"]],
            channel=v[i["username"]],
            message_id=v[i["message_id"]],
            date=date,
            text=v[i["text"]],
            media=v[i["media"]],
            grouped_id=v[i["grouped_id"]],
            forward_from=v[i["forward_from"]],
            forward_link=v[i["forward_link"]],
            reply_to=v[i["reply_to"]],
            links=tuple(json.loads(raw_links)) if raw_links else (),
            edit_date=ts(v[i["edit_date"]]),
            deleted_at=ts(v[i["deleted_at"]]),
            version=v[i["version"]],
            ocr_text=v[i["ocr_text"]],
            lemmas=v[i["lemmas"]] if "lemmas" in i else "",
            ocr_lemmas=v[i["ocr_lemmas"]] if "ocr_lemmas" in i else "",
            norm=v[i["norm"]] if "norm" in i else "",
            ocr_norm=v[i["ocr_norm"]] if "ocr_norm" in i else "",
            link_id=v[i["link_id"]] if "link_id" in i else None,
            media_key=v[i["media_key"]] if "media_key" in i else None,
        )


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """A post of a follow-up's thread, as far as the follow-up needs it: where the reader has
    seen it (its link, and what it forwards) and when it was posted; not its words, which
    the reader has above in the chat (storage.posts.PostRepo.of_thread)."""

    id: int
    channel: str
    message_id: int
    date: datetime
    forward_from: str | None
    forward_link: str | None
    link_id: int | None = None

    @property
    def permalink(self) -> str:
        return f"https://t.me/{self.channel}/{self.link_id or self.message_id}"


# Column name -> position, per tuple of column names a query returns (a handful in all).
_COLUMNS: dict[tuple[str, ...], dict[str, int]] = {}


def _column_index(r: Any) -> dict[str, int]:
    names = tuple(r.keys())
    found = _COLUMNS.get(names)
    if found is None:
        # The first of two like-named columns, as a lookup by name gives.
        found = {n: pos for pos, n in reversed(list(enumerate(names)))}
        _COLUMNS[names] = found
    return found


@dataclass(frozen=True, slots=True)
class PostVersion:
    post_id: int
    version: int
    text: str
    edit_date: datetime | None
    recorded_at: datetime
    # What this version changed against the one before ('text', 'media', 'links'); None for a
    # first version.
    changed: frozenset[str] | None = None
    ocr_text: str = ""  # what its pictures read (storage.posts.set_ocr)


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    user_id: int | None
    username: str | None
    display: str | None
    role: Role
    lang: Lang  # interface, drafts and digests
    tz: str
    quiet_from: str | None
    quiet_to: str | None
    digest_at: str | None
    paused: bool
    reachable: bool
    active: bool
    lang_chosen: bool = False  # set with /lang; otherwise `lang` follows their Telegram app

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> Person:
        return cls(
            id=r["id"],
            user_id=r["user_id"],
            username=r["username"],
            display=r["display"],
            role=r["role"],
            lang=r["lang"],
            tz=r["tz"],
            quiet_from=r["quiet_from"],
            quiet_to=r["quiet_to"],
            digest_at=r["digest_at"],
            paused=bool(r["paused"]),
            reachable=bool(r["reachable"]),
            active=bool(r["active"]),
            lang_chosen=bool(r["lang_chosen"]),
        )

    @property
    def label(self) -> str:
        if self.username:
            return f"@{self.username}"
        return self.display or str(self.user_id)


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    owner_id: int | None  # None = the desk
    query: str
    compiled: Any  # JSON-decoded parsed rule
    source_id: int | None
    priority: int
    active: bool

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> Rule:
        return cls(
            id=r["id"],
            owner_id=r["owner_id"],
            query=r["query"],
            compiled=json.loads(r["compiled"]),
            source_id=r["source_id"],
            priority=r["priority"],
            active=bool(r["active"]),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    person_id: int
    post_id: int | None
    kind: AlertKind
    version: int
    rule_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: int
    reply_to_alert: int | None
    tg_message_id: int | None
    last_error: str | None
    created_at: int
    spans: tuple[tuple[int, int, str], ...] | None = None  # where the rule that fired matched
    # Of a pending alert, how many of its payload's messages Telegram confirmed (the first is
    # tg_message_id): a restart sends the rest (`AlertRepo.mark_started`).
    parts_sent: int = 0

    @classmethod
    def from_row(cls, r: aiosqlite.Row) -> Alert:
        raw = r["spans"]
        spans = (
            None if raw is None else tuple((int(a), int(b), str(t)) for a, b, t in json.loads(raw))
        )
        return cls(
            id=r["id"],
            person_id=r["person_id"],
            post_id=r["post_id"],
            kind=r["kind"],
            version=r["version"],
            rule_id=r["rule_id"],
            payload=json.loads(r["payload"]),
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=r["next_attempt_at"],
            reply_to_alert=r["reply_to_alert"],
            tg_message_id=r["tg_message_id"],
            last_error=r["last_error"],
            created_at=r["created_at"],
            spans=spans,
            parts_sent=r["parts_sent"] or 0,
        )


@dataclass(frozen=True, slots=True)
class AccountLease:
    """A listener account's lease: which process runs the account, and until when."""

    account: str
    holder: str | None  # "pid N on HOST"; None: never held
    taken_at: datetime | None
    renewed_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    failed: str | None  # why it was marked failed; None: not marked


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which account reads an active channel (None: none yet), and which one reads it now."""

    source_id: int
    username: str
    account: str | None
    pinned: bool
    reader: str | None
    refused: frozenset[str]
