"""THREAD_HEADS (one statement for all of a post's recipients) against the per-alert lookup it
replaced: the same story head for every alert, on both back ends, over generated histories."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import storage.ingest
import storage.postgres.ingest
from storage.alerts import first_heads
from storage.ingest import Thread
from storage.records import Post
from storage.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = 6 * 3600

# The lookup the follow-ups used before THREAD_HEADS, run once per alert just before it is
# queued (so it sees the alerts queued ahead of it in the same call).
OLD_THREAD_HEAD = (
    "SELECT a.* FROM alerts a JOIN posts p ON p.id = a.post_id"
    " WHERE a.person_id = ? AND a.rule_id = ? AND a.kind = 'new'"
    " AND p.source_id = ? AND p.date >= ? AND p.date < ?"
    " ORDER BY p.date DESC, a.id DESC LIMIT 1"
)


async def _old_enqueue(
    store: Store, alerts: Sequence[Mapping[str, Any]], thread: Thread | None
) -> list[int | None]:
    out: list[int | None] = []
    for a in alerts:
        if (
            thread is not None
            and a["kind"] == "new"
            and a.get("reply_to_alert") is None
            and a.get("rule_id") is not None
        ):
            row = await store.db.fetchone(
                OLD_THREAD_HEAD,
                (a["person_id"], a["rule_id"], thread.source_id, thread.since, thread.before),
            )
            if row is not None:
                a = {**a, "reply_to_alert": int(row["id"])}
        out.append(await store.alerts.enqueue(**a))  # type: ignore[misc]
    return out


async def _world(target: str) -> tuple[Store, list[int], list[int], list[int]]:
    """Two channels, five people (two of them paused or muted: the lookup ignores it), desk
    rules and personal ones."""
    store = await Store.open(target)
    sources = [(await store.sources.upsert(name)).id for name in ("alpha_demo", "beta_demo")]
    people = [
        (await store.people.add(role="journalist", user_id=100 + n, lang="uk")).id
        for n in range(5)
    ]
    await store.people.mute(people[3], sources[0], None)
    await store.people.set_pref(people[4], "paused", 1)
    rules = [(await store.rules.add(f"desk{n}", {"t": "w", "v": f"d{n}"})).id for n in range(2)]
    rules += [
        (await store.rules.add(f"own{n}", {"t": "w", "v": f"o{n}"}, owner_id=people[n])).id
        for n in range(3)
    ]
    return store, sources, people, rules


def _alerts(
    rnd: random.Random,
    post_ids: Sequence[int],
    people: Sequence[int],
    rules: Sequence[int],
    queued: Sequence[int],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for person in rnd.sample(list(people), rnd.randint(1, len(people))):
        rule = rnd.choice([*rules, None])
        # Now and then two alerts of one person: two rules, or one rule twice (two versions,
        # or two posts of the call), the first maybe the head of the second.
        for _ in range(rnd.choice((1, 1, 2))):
            a: dict[str, Any] = {
                "person_id": person,
                "post_id": rnd.choice(post_ids),
                "kind": rnd.choice(("new", "new", "new", "new", "edit", "delete")),
                "version": rnd.choice((1, 1, 2, 3)),
                "rule_id": rule if rnd.random() < 0.6 else rnd.choice([*rules, None]),
                "payload": {"plain": "x"},
            }
            if queued and rnd.random() < 0.1:
                a["reply_to_alert"] = rnd.choice(queued)
            out.append(a)
    return out


async def _replay(
    target: str,
    seed: int,
    enqueue: Callable[[Store, Sequence[Mapping[str, Any]], Thread | None], Any],
) -> list[tuple[Any, ...]]:
    """One generated history: posts (ties in date, albums, forwards, edits, deletions), batches
    of alerts queued through `enqueue`, rules deleted on the way. Returns every alert as
    (person, post, kind, version, rule, what it replies to), by identity, not by row id."""
    rnd = random.Random(seed)
    store, sources, people, rules = await _world(target)
    try:
        posts: list[tuple[int, int, int]] = []  # (id, source id, date)
        queued: list[int] = []
        for n in range(1, 41):
            src = rnd.choice(sources)
            date = T0 + timedelta(minutes=40 * rnd.randint(0, 20))  # many share a date
            post = Post(
                ("alpha_demo", "beta_demo")[sources.index(src)],
                n,
                date,
                f"post {n}",
                grouped_id=rnd.choice((None, None, 77)),
                forward_from=rnd.choice((None, "@elsewhere")),
            )
            post_id = await store.posts.insert(src, post, f"post {n}", f"post {n}")
            stamp = int(date.timestamp())
            posts.append((post_id, src, stamp))
            if rnd.random() < 0.2:
                t = f"post {n} edited"
                await store.posts.add_version(post_id, t, t, t, stamp + 60)
            if rnd.random() < 0.15:
                await store.posts.mark_deleted(rnd.choice(posts)[0], stamp)
            # Mostly the live shape (this post's alerts, the window ending at its date); else
            # any window of any channel and alerts about several posts, so that a batch may
            # hold the head of one of its own later alerts.
            if rnd.random() < 0.6:
                ids, thread = [post_id], Thread(src, stamp - WINDOW, stamp)
            else:
                pick = rnd.sample(posts, min(len(posts), rnd.randint(1, 3)))
                at = rnd.choice(pick if rnd.random() < 0.7 else posts)
                since = at[2] - rnd.choice((0, WINDOW))
                thread = Thread(at[1], since, since + rnd.choice((1, WINDOW)))
                ids = [p[0] for p in pick]
            if rnd.random() < 0.05:
                thread = None
            got = await enqueue(store, _alerts(rnd, ids, people, rules, queued), thread)
            queued += [i for i in got if i is not None]
            if rnd.random() < 0.08 and len(rules) > 2:
                gone = rules.pop(rnd.randrange(len(rules)))
                await store.db.execute("DELETE FROM rules WHERE id = ?", (gone,))
        rows = await store.db.fetchall(
            "SELECT id, person_id, post_id, kind, version, rule_id, reply_to_alert"
            " FROM alerts ORDER BY id"
        )
        ident = {r["id"]: (r["person_id"], r["post_id"], r["kind"], r["version"]) for r in rows}
        return [(*ident[r["id"]], r["rule_id"], ident.get(r["reply_to_alert"])) for r in rows]
    finally:
        await store.close()


@pytest.mark.parametrize("seed", range(8))
async def test_thread_heads_gives_what_the_per_alert_lookup_gave(
    new_db: Callable[[], str], seed: int
) -> None:
    async def new_enqueue(
        store: Store, alerts: Sequence[Mapping[str, Any]], thread: Thread | None
    ) -> list[int | None]:
        return await store.ingest.enqueue(alerts, thread=thread)

    old = await _replay(new_db(), seed, _old_enqueue)
    new = await _replay(new_db(), seed, new_enqueue)
    assert sum(r[-1] is not None for r in old) > 5  # the histories do thread
    assert new == old


async def test_an_alert_queued_in_the_same_call_as_its_head_replies_to_it(
    db_target: str,
) -> None:
    """Two 'new' alerts of one person and rule in one call, the first about a post in the
    window: the second is a follow-up on the first, as when each looked its head up alone."""
    store, sources, people, rules = await _world(db_target)
    try:
        stamp = int(T0.timestamp())
        older = await store.posts.insert(sources[0], Post("alpha_demo", 1, T0, "a"), "a", "a")
        newer = await store.posts.insert(
            sources[0], Post("alpha_demo", 2, T0 + timedelta(hours=1), "b"), "b", "b"
        )
        base = {"person_id": people[0], "kind": "new", "rule_id": rules[0], "payload": {}}
        (head,) = await store.ingest.enqueue([{**base, "post_id": older, "version": 1}])
        thread = Thread(sources[0], stamp, stamp + 7200)
        first, second = await store.ingest.enqueue(
            [{**base, "post_id": newer, "version": 1}, {**base, "post_id": newer, "version": 2}],
            thread=thread,
        )
        got = {a.id: a.reply_to_alert for a in await store.alerts.for_person(people[0])}
        assert got == {head: None, first: head, second: first}
    finally:
        await store.close()


async def test_the_first_post_of_a_new_story_reads_no_other_storys_alerts(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loud channel's window is full of other stories' alerts; a post that starts a story has
    no head to find, and learning that must not read every one of them."""
    read: list[int] = []

    def counted(rows: Any, wanted: Any) -> dict[tuple[int, int], int]:
        def each() -> Any:
            for row in rows:
                read.append(1)
                yield row

        return first_heads(each(), wanted)

    monkeypatch.setattr(storage.ingest, "first_heads", counted)
    monkeypatch.setattr(storage.postgres.ingest, "first_heads", counted)
    store, sources, people, rules = await _world(db_target)
    try:
        stamp = int(T0.timestamp())
        for n in range(1, 6):
            post_id = await store.posts.insert(
                sources[0], Post("alpha_demo", n, T0 + timedelta(minutes=n), "a"), "a", "a"
            )
            base = {
                "post_id": post_id,
                "kind": "new",
                "version": 1,
                "rule_id": rules[0],
                "payload": {},
            }
            await store.ingest.enqueue(
                [{**base, "person_id": p} for p in people],
                thread=Thread(sources[0], stamp, stamp + n * 60),
            )
        read.clear()
        post_id = await store.posts.insert(
            sources[0], Post("alpha_demo", 9, T0 + timedelta(minutes=9), "b"), "b", "b"
        )
        base = {
            "post_id": post_id,
            "kind": "new",
            "version": 1,
            "rule_id": rules[1],
            "payload": {},
        }
        ids = await store.ingest.enqueue(
            [{**base, "person_id": p} for p in people],
            thread=Thread(sources[0], stamp, stamp + 9 * 60),
        )
        assert len(ids) == len(people) and read == []
        got = await store.db.fetchall(
            "SELECT reply_to_alert FROM alerts WHERE post_id = ?", (post_id,)
        )
        assert [r[0] for r in got] == [None] * len(people)
    finally:
        await store.close()
