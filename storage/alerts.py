"""The outbox: alerts waiting for, or done with, delivery. Only the notifier drains it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence, Set
from typing import Any, NotRequired, TypedDict, Unpack

from storage.db import Database, now
from storage.models import Alert, Person

# The statuses of alerts still to go: the partial index alerts_by_person_open (migration 0029)
# holds only those. SQLite uses a partial index only for a query that repeats its condition
# word for word, so each person-and-status lookup adds `AND <alias>.` OPEN to its own test.
OPEN = "status IN ('drafting', 'pending', 'held')"
ENQUEUE = (
    "INSERT INTO alerts (person_id, post_id, kind, version, rule_id, payload, status,"
    " reply_to_alert, created_at, spans) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (person_id, post_id, kind, version) DO NOTHING"
)
# No earlier alert of the same chat waits for a retry or for its draft, and the alert a
# follow-up replies to has reached the journalist: not parked (quiet hours), nor folded into a
# digest that is still to go. What keeps a chat's order in `due` (one parameter: now). An
# "Updated" reply or a translation of a story still held for the night would reach the
# journalist before the story; it waits until the story is released, or until the digest the
# story went into is sent, and then replies to that (`hold_follow_ups`, `mark_sent`).
NOT_GATED = (
    "NOT EXISTS (SELECT 1 FROM alerts b WHERE b.person_id = a.person_id AND b.id < a.id"
    f" AND b.{OPEN} AND (b.status = 'drafting'"
    " OR (b.status = 'pending' AND b.next_attempt_at > ?)))"
    " AND NOT EXISTS (SELECT 1 FROM alerts o WHERE o.id = a.reply_to_alert"
    " AND (o.status = 'held' OR (o.digest_alert IS NOT NULL AND o.tg_message_id IS NULL"
    " AND EXISTS (SELECT 1 FROM alerts d WHERE d.id = o.digest_alert"
    " AND d.status IN ('pending', 'held')))))"
)
# Why an alert owed to someone removed from the desk was never sent (`settle_removed`).
REMOVED = "not sent: the person was removed from the desk"
# How the reply recording a translation given up begins its last_error (`give_up_translation`):
# `counts` tells those apart from failures, since nothing went wrong in delivering them.
GIVEN_UP = "translation given up: "
# (source id, since, before, rule ids...): the 'new' alerts for those rules about the source's
# posts dated in [since, before), latest story first. A follow-up replies to the first row of
# its person and rule (`first_heads`): one statement for all of a post's recipients, read only
# as far as needed. Built by `thread_heads`.
THREAD_HEADS = (
    "SELECT a.person_id, a.rule_id, a.id FROM posts p"
    " JOIN alerts a ON a.post_id = p.id AND a.kind = 'new'"
    " WHERE p.source_id = ? AND p.date >= ? AND p.date < ? AND a.rule_id IN ({rules})"
    " ORDER BY p.date DESC, a.id DESC"
)


def thread_heads(
    source_id: int, since: int, before: int, wanted: Set[tuple[int, int]]
) -> tuple[str, tuple[Any, ...]]:
    """THREAD_HEADS and its parameters for these (person id, rule id). Only the wanted rules'
    rows: the first post of a new story has no head, and without the filter the whole window
    of the source's alerts for its other stories was read to learn that (a channel alerting
    200 people 25 times in the window: 5,000 rows, 3.4 ms on the event loop; 0.4 ms with it)."""
    rules = sorted({rule for _, rule in wanted})
    return THREAD_HEADS.format(rules=", ".join("?" * len(rules))), (
        source_id,
        since,
        before,
        *rules,
    )


def first_heads(
    rows: Iterable[Sequence[Any]], wanted: Set[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """Of THREAD_HEADS's rows, in its order, the first alert id of each wanted (person id,
    rule id): that person's latest story for the rule. Stops reading once all are found."""
    found: dict[tuple[int, int], int] = {}
    if not wanted:
        return found
    for person_id, rule_id, alert_id in rows:
        if rule_id is None:
            continue
        key = (int(person_id), int(rule_id))
        if key in wanted and key not in found:
            found[key] = int(alert_id)
            if len(found) == len(wanted):
                break
    return found


# (person id, rule id, source id, since, before): THREAD_HEADS's first row of one person and
# rule, for an alert whose head may have been queued in the same call (ingest.thread_keys).
# Whom the stored forwards of a post (by its permalink) reached as a story: its original, or
# another forward of it, is no news to them (officials forward each other all day, and a
# busy channel is polled while the forwarding one pushes, so either may come first).
ALERTED_ABOUT_FORWARDS = (
    "SELECT DISTINCT a.person_id FROM posts f JOIN alerts a ON a.post_id = f.id"
    " WHERE f.forward_link = ? AND a.kind = 'new'"
)

THREAD_HEAD = (
    "SELECT a.id FROM alerts a JOIN posts p ON p.id = a.post_id"
    " WHERE a.person_id = ? AND a.rule_id = ? AND a.kind = 'new'"
    " AND p.source_id = ? AND p.date >= ? AND p.date < ?"
    " ORDER BY p.date DESC, a.id DESC LIMIT 1"
)


class AlertArgs(TypedDict):
    """AlertRepo.enqueue's arguments (bot/ingest/steps.alert_args builds them)."""

    person_id: int
    post_id: int | None
    kind: str
    version: int
    payload: dict[str, Any]
    rule_id: NotRequired[int | None]
    reply_to_alert: NotRequired[int | None]
    held: NotRequired[bool]
    spans: NotRequired[Sequence[tuple[int, int, str]] | None]
    drafting: NotRequired[bool]


def enqueue_params(**a: Unpack[AlertArgs]) -> tuple[Any, ...]:
    """ENQUEUE's parameters, from AlertRepo.enqueue's arguments."""
    spans = a.get("spans")
    status = "drafting" if a.get("drafting") else "held" if a.get("held") else "pending"
    return (
        a["person_id"],
        a["post_id"],
        a["kind"],
        a["version"],
        a.get("rule_id"),
        json.dumps(a["payload"], ensure_ascii=False),
        status,
        a.get("reply_to_alert"),
        now(),
        None if spans is None else json.dumps([list(s) for s in spans]),
    )


def _identity(alert: Alert) -> tuple[int, int, int | None, int]:
    return alert.id, alert.person_id, alert.post_id, alert.version


class AlertRepo:
    # Seconds a notifier's claim on a chat lasts unless renewed; None: no claims to keep (one
    # SQLite file serves one process).
    claim_ttl: float | None = None

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, **alert: Unpack[AlertArgs]) -> int | None:
        """Queue an alert; None if this person already has it (re-imports alert nobody twice).
        `spans` are where the rule that fired matched, kept so every surface quotes alike.
        `drafting`: the payload says what to draft, and the drafter writes the draft later
        (`drafting`, `set_drafted`); until then nobody sends it."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(ENQUEUE, enqueue_params(**alert))
            return int(cur.lastrowid or 0) if cur.rowcount else None

    async def try_lease(self, person_id: int) -> bool:
        """May this process deliver to `person_id` now? One SQLite file serves one process, so
        yes; on PostgreSQL several notifiers share the outbox and a chat is leased to one."""
        return True

    async def renew_leases(self, person_ids: list[int]) -> None:
        return None

    async def release_lease(self, person_id: int) -> None:
        return None

    async def get(self, alert_id: int) -> Alert | None:
        row = await self.db.fetchone("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return Alert.from_row(row) if row else None

    async def posts_of(self, alert_ids: Sequence[int]) -> dict[int, int | None]:
        """The post each of these alerts is about (alert id -> post id), for those that exist."""
        out: dict[int, int | None] = {}
        ids = list(dict.fromkeys(alert_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = await self.db.fetchall(
                f"SELECT id, post_id FROM alerts WHERE id IN ({marks})", part
            )
            out.update((int(r[0]), None if r[1] is None else int(r[1])) for r in rows)
        return out

    async def original_for(self, post_id: int, person_id: int) -> Alert | None:
        """The first ('new') alert a person got for a post, with the rule and spans it fired on."""
        row = await self.db.fetchone(
            "SELECT * FROM alerts WHERE post_id = ? AND person_id = ? AND kind = 'new'"
            " ORDER BY id LIMIT 1",
            (post_id, person_id),
        )
        return Alert.from_row(row) if row else None

    async def awaiting_translation(self, since: int, limit: int = 50) -> list[Alert]:
        """'new' alerts created at or after `since` whose draft asked for a translation
        (payload "translate") and that have no translation reply yet, oldest first. A
        translation given up (`give_up_translation`) counts as a reply."""
        rows = await self.db.fetchall(
            "SELECT a.* FROM alerts a WHERE a.kind = 'new' AND a.created_at >= ?"
            " AND json_extract(a.payload, '$.translate') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM alerts t WHERE t.reply_to_alert = a.id"
            "   AND t.kind = 'translation')"
            " ORDER BY a.created_at, a.id LIMIT ?",
            (since, limit),
        )
        return [Alert.from_row(r) for r in rows]

    async def give_up_translation(self, alert: Alert, payload: dict[str, Any], why: str) -> None:
        """Settle the translation `alert` asked for without sending one: a reply recorded
        'failed' with GIVEN_UP and `why`, so that it is no longer owed; the reason stays with
        it, and `counts` shows it as given up."""
        await self.db.execute(
            "INSERT INTO alerts (person_id, post_id, kind, version, rule_id, payload, status,"
            " reply_to_alert, created_at, last_error)"
            " VALUES (?, ?, 'translation', ?, ?, ?, 'failed', ?, ?, ?)"
            " ON CONFLICT (person_id, post_id, kind, version) DO NOTHING",
            (
                alert.person_id,
                alert.post_id,
                alert.version,
                alert.rule_id,
                json.dumps(payload, ensure_ascii=False),
                alert.id,
                now(),
                (GIVEN_UP + why)[:500],
            ),
        )

    async def oldest_drafting_at(self) -> int | None:
        """When the oldest alert still waiting for its draft was queued (None: none waits);
        what its draft asks for is not known before then. The earliest time, not the lowest
        id's: another process may insert an alert it stamped earlier after ours."""
        row = await self.db.fetchone(
            "SELECT MIN(created_at) FROM alerts WHERE status = 'drafting'"
        )
        return int(row[0]) if row and row[0] is not None else None

    async def alerted_about_forwards(self, link: str) -> set[int]:
        """The people a stored forward of the post at `link` reached as a story of its own."""
        rows = await self.db.fetchall(ALERTED_ABOUT_FORWARDS, (link,))
        return {int(r[0]) for r in rows}

    async def originals(self, post_id: int) -> list[Alert]:
        """The first ('new') alert each person got for a post: follow-ups reply to it."""
        rows = await self.db.fetchall(
            "SELECT * FROM alerts WHERE post_id = ? AND kind = 'new' ORDER BY id", (post_id,)
        )
        return [Alert.from_row(r) for r in rows]

    async def due(
        self, *, at: int | None = None, limit: int = 200, after_id: int = 0
    ) -> list[Alert]:
        """Pending alerts whose time has come, oldest first (per-chat order is id order).

        An alert never overtakes an earlier alert of the same person that is waiting for a
        retry or for its draft, so a person's alerts keep their order across restarts too.
        """
        at = now() if at is None else at
        rows = await self.db.fetchall(
            f"SELECT * FROM alerts a WHERE a.status = 'pending' AND a.next_attempt_at <= ?"
            f" AND a.id > ? AND {NOT_GATED} ORDER BY a.id LIMIT ?",
            (at, after_id, at, limit),
        )
        return [Alert.from_row(r) for r in rows]

    async def drafting(self, limit: int = 200, *, after_id: int = 0) -> list[Alert]:
        """Alerts queued before their draft was written, oldest first, from after `after_id`."""
        rows = await self.db.fetchall(
            "SELECT * FROM alerts WHERE status = 'drafting' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [Alert.from_row(r) for r in rows]

    async def last_id(self) -> int:
        """The highest alert id so far (0 for none): what was queued before a given moment."""
        row = await self.db.fetchone("SELECT MAX(id) FROM alerts")
        return int(row[0]) if row and row[0] is not None else 0

    async def set_drafted(
        self,
        drafted: Sequence[tuple[Alert, dict[str, Any], bool]],
        failed: Sequence[tuple[Alert, str]] = (),
    ) -> None:
        """Write drafts: (alert, payload, held) each, the alert 'held' or 'pending' from now
        on; `failed`: (alert, why) for drafts that could not be written. Only alerts still
        'drafting', for the same person, post and version, change (another process may have
        drafted them first)."""
        same = (
            " WHERE id = ? AND person_id = ? AND post_id = ? AND version = ?"
            " AND status = 'drafting'"
        )
        async with self.db.transaction() as conn:
            if drafted:
                await conn.executemany(
                    "UPDATE alerts SET payload = ?, status = ?" + same,
                    [
                        (
                            json.dumps(p, ensure_ascii=False),
                            "held" if held else "pending",
                            *_identity(a),
                        )
                        for a, p, held in drafted
                    ],
                )
            if failed:
                await conn.executemany(
                    "UPDATE alerts SET status = 'failed', last_error = ?" + same,
                    [(error[:500], *_identity(a)) for a, error in failed],
                )

    async def next_due_at(self) -> int | None:
        row = await self.db.fetchone(
            "SELECT MIN(next_attempt_at) FROM alerts WHERE status = 'pending'"
        )
        return int(row[0]) if row and row[0] is not None else None

    async def mark_sent(self, alert_id: int, tg_message_id: int, *, digest: bool = False) -> None:
        """`digest`: the alert is a digest, and the alerts folded into it (`mark_digested`)
        take its message id: their follow-ups reply to it."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET status = 'sent', tg_message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (tg_message_id, now(), alert_id),
            )
            if digest:
                await conn.execute(
                    "UPDATE alerts SET tg_message_id = ? WHERE digest_alert = ?"
                    " AND tg_message_id IS NULL",
                    (tg_message_id, alert_id),
                )

    async def mark_started(self, alert_id: int, tg_message_id: int, parts: int = 0) -> None:
        """A pending alert has begun to reach the person: `tg_message_id` is its first
        message (a photo its draft follows, or the first part of a long draft) and `parts` how
        many of its payload's messages Telegram has confirmed. A restart sends the rest,
        replying to the first, never what went again."""
        await self.db.execute(
            "UPDATE alerts SET tg_message_id = ?, parts_sent = ? WHERE id = ?"
            " AND status = 'pending'",
            (tg_message_id, parts, alert_id),
        )

    async def mark_retry(self, alert_id: int, next_at: int, error: str) -> None:
        await self.db.execute(
            "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE id = ?",
            (next_at, error[:500], alert_id),
        )

    async def mark_failed(self, alert_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (error[:500], alert_id),
        )

    async def hold_person(self, person_id: int, error: str) -> int:
        """Park a person's pending alerts (blocked bot, paused): kept, not sent, not lost.
        One half sent (`mark_started`) starts over: parked alerts come back as a digest."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET status = 'held', tg_message_id = NULL, parts_sent = 0,"
                " last_error = ? WHERE person_id = ?"
                f" AND {OPEN} AND status = 'pending'",
                (error[:500], person_id),
            )
            return cur.rowcount

    async def hold_follow_ups(self, person_id: int) -> int:
        """Park the person's queued follow-ups (edits, deletions, translations) of alerts that
        are parked themselves, so that they are released, or digested, with their story:
        they were queued after the quiet hours ended, before the story was released."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE alerts SET status = 'held' WHERE person_id = ? AND {OPEN}"
                " AND status = 'pending' AND reply_to_alert IN (SELECT o.id FROM alerts o"
                f" WHERE o.person_id = ? AND o.{OPEN} AND o.status = 'held')",
                (person_id, person_id),
            )
            return cur.rowcount

    async def release_person(self, person_id: int) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = 0 WHERE person_id = ?"
                f" AND {OPEN} AND status = 'held'",
                (person_id,),
            )
            return cur.rowcount

    async def release_candidates(self) -> list[Person]:
        """Everyone the quiet-hours release job has something to do for, in one read, so
        that its minute costs nothing for the rest of the desk: the people alerts could go to
        now (on the desk, reachable, not paused, with a Telegram id) who have alerts held, and
        the people removed from the desk who are still owed alerts (`settle_removed`)."""
        rows = await self.db.fetchall(
            "SELECT p.* FROM people p WHERE (p.active = 1 AND p.reachable = 1 AND p.paused = 0"
            " AND p.user_id IS NOT NULL AND EXISTS (SELECT 1 FROM alerts a"
            f" WHERE a.person_id = p.id AND a.{OPEN} AND a.status = 'held'))"
            " OR (p.active = 0 AND EXISTS (SELECT 1 FROM alerts a"
            f" WHERE a.person_id = p.id AND a.{OPEN} AND a.status IN ('pending', 'held')))"
            " ORDER BY p.id"
        )
        return [Person.from_row(r) for r in rows]

    async def settle_removed(self, person_id: int) -> int:
        """Nothing goes to a person removed from the desk: what was still owed to them (held
        for the night, parked by the notifier, an update waiting for its held story) ends
        failed with REMOVED, instead of waiting for ever (`counts` shows it as 'cancelled').
        Alerts still being drafted are left to the drafter, and settled here once drafted."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET status = 'failed', last_error = ? WHERE person_id = ?"
                f" AND {OPEN} AND status IN ('pending', 'held')",
                (REMOVED, person_id),
            )
            return cur.rowcount

    async def held(self, person_id: int) -> list[Alert]:
        rows = await self.db.fetchall(
            f"SELECT * FROM alerts WHERE person_id = ? AND {OPEN} AND status = 'held' ORDER BY id",
            (person_id,),
        )
        return [Alert.from_row(r) for r in rows]

    async def depth(self) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM alerts WHERE status IN ('drafting', 'pending', 'held')"
        )
        return int(row[0]) if row else 0

    async def counts(self) -> dict[str, int]:
        """The outbox by status. Two kinds of alert recorded 'failed' are no delivery fault and
        count apart, so that a newsroom reading /status or the metrics does not take them for
        one: translations given up (`give_up_translation`), as 'given_up', and what was owed to
        people removed from the desk (`settle_removed`), as 'cancelled'."""
        rows = await self.db.fetchall(
            "SELECT CASE WHEN status = 'failed' AND kind = 'translation'"
            f" AND substr(last_error, 1, {len(GIVEN_UP)}) = '{GIVEN_UP}' THEN 'given_up'"
            f" WHEN status = 'failed' AND last_error = '{REMOVED}' THEN 'cancelled'"
            " ELSE status END AS shown, COUNT(*) FROM alerts GROUP BY shown"
        )
        return {r[0]: int(r[1]) for r in rows}

    async def for_person(self, person_id: int, limit: int = 100) -> list[Alert]:
        rows = await self.db.fetchall(
            "SELECT * FROM alerts WHERE person_id = ? ORDER BY id LIMIT ?", (person_id, limit)
        )
        return [Alert.from_row(r) for r in rows]

    async def recent_for_person(
        self, person_id: int, since: int, kinds: tuple[str, ...] = ("new",), limit: int = 200
    ) -> list[Alert]:
        """A person's alerts created at or after `since`, oldest first (daily digests)."""
        marks = ",".join("?" * len(kinds))
        rows = await self.db.fetchall(
            f"SELECT * FROM alerts WHERE person_id = ? AND created_at >= ? AND kind IN ({marks})"
            " ORDER BY id LIMIT ?",
            (person_id, since, *kinds, limit),
        )
        return [Alert.from_row(r) for r in rows]

    async def mark_digested(self, alert_ids: list[int], digest_id: int) -> None:
        """Held alerts folded into digest `digest_id`: settled, their content went out there."""
        stamp = now()
        await self.db.executemany(
            "UPDATE alerts SET status = 'sent', sent_at = ?, last_error = ?, digest_alert = ?"
            " WHERE id = ? AND status = 'held'",
            [(stamp, f"delivered in digest alert {digest_id}", digest_id, i) for i in alert_ids],
        )

    async def release(self, alert_ids: list[int]) -> None:
        """Held alerts back to pending, due now."""
        await self.db.executemany(
            "UPDATE alerts SET status = 'pending', next_attempt_at = 0 WHERE id = ?"
            " AND status = 'held'",
            [(i,) for i in alert_ids],
        )
