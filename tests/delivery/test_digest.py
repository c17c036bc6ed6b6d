"""Quiet hours and digests: the pure window check, the release job, the daily job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery.digest import (
    DAILY_JOB_PREFIX,
    QUIET_JOB,
    compose_digest,
    daily_digest,
    daily_title,
    quiet_title,
    release_quiet,
    schedule_digests,
)
from bot.desk.quiet import in_quiet_hours, next_quiet_end
from bot.ingest.pipeline import Pipeline
from storage.models import Person
from storage.records import Post
from storage.store import Store
from tests.fakebot import parse_html

T0 = datetime(2025, 12, 3, 22, 30, tzinfo=UTC)  # 00:30 in Kyiv (UTC+2 in December)


def person(**kw: object) -> Person:
    base = Person(
        id=1,
        user_id=1,
        username=None,
        display=None,
        role="journalist",
        lang="en",
        tz="Europe/Kyiv",
        quiet_from="23:00",
        quiet_to="07:00",
        digest_at=None,
        paused=False,
        reachable=True,
        active=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("utc_hm", "quiet"),
    [
        ((20, 59), False),
        ((21, 0), True),
        ((22, 30), True),
        ((4, 59), True),
        ((5, 0), False),
        ((12, 0), False),
    ],
)
def test_quiet_window_crosses_midnight_in_the_persons_zone(
    utc_hm: tuple[int, int], quiet: bool
) -> None:
    at = datetime(2025, 12, 3, *utc_hm, tzinfo=UTC)
    assert in_quiet_hours(person(), at) is quiet


def test_quiet_window_same_day_and_off() -> None:
    day = person(quiet_from="13:00", quiet_to="14:00", tz="UTC")
    assert in_quiet_hours(day, datetime(2025, 12, 3, 13, 30, tzinfo=UTC))
    assert not in_quiet_hours(day, datetime(2025, 12, 3, 14, 0, tzinfo=UTC))
    assert not in_quiet_hours(person(quiet_from=None, quiet_to=None), T0)
    assert next_quiet_end(person(), T0) == datetime(2025, 12, 4, 5, 0, tzinfo=UTC)
    assert next_quiet_end(day, T0) is None


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    await st.sources.upsert("grid_ministry_demo", attribution={"person_en": "Ivanna Kovalenko"})
    await Pipeline(st, alert=False).handle_batch(
        [
            Post(
                "grid_ministry_demo",
                n,
                T0 - timedelta(hours=n),
                f"Оновлення {n}: ремонт мереж & <b>підстанцій</b> триває.",
            )
            for n in range(1, 5)
        ]
    )
    yield st
    await st.close()


async def _held(store: Store, p: Person, count: int) -> list[int]:
    ids = []
    for post in await store.posts.recent(limit=count):
        aid = await store.alerts.enqueue(
            person_id=p.id,
            post_id=post.id,
            kind="new",
            version=1,
            payload={"messages": [{"html": "x", "buttons": []}], "plain": "x"},
            held=True,
        )
        assert aid is not None
        ids.append(aid)
    return ids


async def test_release_after_quiet_hours_sends_one_digest(store: Store) -> None:
    p = await store.people.add(role="journalist", user_id=501, lang="en")
    await store.people.set_pref(p.id, "quiet_from", "23:00")
    await store.people.set_pref(p.id, "quiet_to", "07:00")
    held = await _held(store, p, 3)
    woken: list[int] = []
    # Still quiet: nothing moves.
    assert await release_quiet(store, at=T0, on_enqueue=lambda: woken.append(1)) == 0
    assert len(await store.alerts.held(p.id)) == 3
    morning = datetime(2025, 12, 4, 5, 1, tzinfo=UTC)
    assert await release_quiet(store, at=morning, on_enqueue=lambda: woken.append(1)) == 1
    assert woken == [1]
    assert await store.alerts.held(p.id) == []
    alerts = await store.alerts.for_person(p.id)
    digests = [a for a in alerts if a.kind == "digest"]
    assert len(digests) == 1 and digests[0].status == "pending"
    assert {a.status for a in alerts if a.id in held} == {"sent"}
    html = digests[0].payload["messages"][0]["html"]
    text, _ = parse_html(html)  # valid Telegram HTML, post markup escaped
    assert text.startswith("While you were in quiet hours: 3 alerts")
    assert "<b>підстанцій</b>" in text and "https://t.me/grid_ministry_demo/1" in text
    # Idempotent: nothing left to release.
    assert await release_quiet(store, at=morning) == 0


async def test_single_held_alert_goes_out_as_itself_and_others_stay(store: Store) -> None:
    one = await store.people.add(role="journalist", user_id=502)
    blocked = await store.people.add(role="journalist", user_id=503)
    await store.people.set_pref(blocked.id, "reachable", 0)
    (aid,) = await _held(store, one, 1)
    await _held(store, blocked, 2)
    assert await release_quiet(store, at=T0) == 1
    alert = await store.alerts.get(aid)
    assert alert is not None and alert.status == "pending"
    assert len(await store.alerts.held(blocked.id)) == 2  # blocked: still parked


async def test_daily_digest_once_per_day(store: Store) -> None:
    p = await store.people.add(role="journalist", user_id=504, lang="uk")
    assert await daily_digest(store, p.id, at=T0) is None  # no digest time set
    await store.people.set_pref(p.id, "digest_at", "08:00")
    posts = await store.posts.recent(limit=2)
    for post in posts:
        await store.alerts.enqueue(
            person_id=p.id,
            post_id=post.id,
            kind="new",
            version=1,
            payload={"messages": [], "plain": ""},
        )
    now = datetime.now(UTC)
    aid = await daily_digest(store, p.id, at=now)
    assert aid is not None
    alert = await store.alerts.get(aid)
    assert alert is not None and alert.kind == "digest"
    text, _ = parse_html(alert.payload["messages"][0]["html"])
    assert text.startswith("Щоденний дайджест: 2 дописи")
    assert await daily_digest(store, p.id, at=now) is None


def test_compose_digest_splits_long_digests() -> None:
    payload = compose_digest("Title", [], lang="en", tz="UTC", empty="Nothing.")
    assert payload["messages"] == [{"html": "<b>Title</b>\nNothing.", "buttons": []}]


async def test_schedule_digests_adds_jobs_and_follows_preferences(store: Store) -> None:
    p = await store.people.add(role="journalist", user_id=505, tz="America/New_York")
    await store.people.set_pref(p.id, "digest_at", "07:45")
    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs = await schedule_digests(scheduler, store)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(QUIET_JOB) is not None
        job = scheduler.get_job(f"{DAILY_JOB_PREFIX}{p.id}")
        assert job is not None
        assert str(job.trigger.timezone) == "America/New_York"
        assert "hour='7'" in str(job.trigger) and "minute='45'" in str(job.trigger)
        fresh = await store.people.get(p.id)
        assert fresh is not None
        await jobs.sync_person(replace(fresh, digest_at=None))
        assert scheduler.get_job(f"{DAILY_JOB_PREFIX}{p.id}") is None
    finally:
        scheduler.shutdown(wait=False)


async def test_quiet_digest_lists_an_edited_post_once_and_counts_in_good_grammar(
    store: Store,
) -> None:
    # Post 1 arrived and was edited during the night: the digest used to list it twice (new,
    # then ✏️ with the same text) and said "3 сповіщень" where Ukrainian wants "3 сповіщення".
    p = await store.people.add(role="journalist", user_id=505, lang="uk")
    await store.people.set_pref(p.id, "quiet_from", "23:00")
    await store.people.set_pref(p.id, "quiet_to", "07:00")
    posts = {post.message_id: post for post in await store.posts.recent(limit=4)}
    body = {"messages": [{"html": "x", "buttons": []}], "plain": "x"}
    for message_id, kind in ((1, "new"), (2, "new"), (1, "edit"), (3, "new")):
        aid = await store.alerts.enqueue(
            person_id=p.id,
            post_id=posts[message_id].id,
            kind=kind,
            version=2 if kind == "edit" else 1,
            payload=body,
            held=True,
        )
        assert aid is not None
    assert await release_quiet(store, at=datetime(2025, 12, 4, 5, 1, tzinfo=UTC)) == 1
    (digest,) = [a for a in await store.alerts.for_person(p.id) if a.kind == "digest"]
    text, _ = parse_html(digest.payload["messages"][0]["html"])
    assert text.startswith("Поки у вас були тихі години: 3 сповіщення\n")
    assert text.count("https://t.me/grid_ministry_demo/1") == 1
    assert "✏️ Ivanna Kovalenko (@grid_ministry_demo)" in text  # shown once, as edited


@pytest.mark.parametrize(
    ("lang", "n", "quiet", "daily"),
    [
        ("uk", 1, "1 сповіщення", "1 допис"),
        ("uk", 3, "3 сповіщення", "3 дописи"),
        ("uk", 5, "5 сповіщень", "5 дописів"),
        ("uk", 11, "11 сповіщень", "11 дописів"),
        ("uk", 22, "22 сповіщення", "22 дописи"),
        ("ru", 1, "1 оповещение", "1 пост"),
        ("ru", 3, "3 оповещения", "3 поста"),
        ("ru", 11, "11 оповещений", "11 постов"),
        ("ru", 21, "21 оповещение", "21 пост"),
        ("en", 1, "1 alert", "1 matching post"),
        ("en", 2, "2 alerts", "2 matching posts"),
        ("de", 2, "2 alerts", "2 matching posts"),  # an unknown language falls back to English
    ],
)
def test_digest_titles_agree_with_the_number(lang: str, n: int, quiet: str, daily: str) -> None:
    assert quiet_title(n, lang).endswith(": " + quiet)
    assert daily_title(n, lang).split(": ", 1)[1].startswith(daily + " ")


async def test_digest_after_an_unblock_does_not_speak_of_quiet_hours(store: Store) -> None:
    """Someone who never set quiet hours blocked the bot; their alerts were held by the notifier.
    After they write again, the digest of what waited says why it waited."""
    p = await store.people.add(role="journalist", user_id=503, lang="en")
    for post in await store.posts.recent(limit=2):
        await store.alerts.enqueue(
            person_id=p.id,
            post_id=post.id,
            kind="new",
            version=1,
            payload={"messages": [{"html": "x", "buttons": []}], "plain": "x"},
        )
    # What the notifier does on a 403.
    assert await store.alerts.hold_person(p.id, "Forbidden: bot was blocked by the user") == 2
    await store.people.set_pref(p.id, "reachable", 0)
    assert await release_quiet(store, at=T0) == 0  # still unreachable
    await store.people.set_pref(p.id, "reachable", 1)
    assert await release_quiet(store, at=T0) == 1
    (digest,) = [a for a in await store.alerts.for_person(p.id) if a.kind == "digest"]
    text, _ = parse_html(digest.payload["messages"][0]["html"])
    assert "quiet hours" not in text
    assert text.startswith("While your alerts were on hold: 2 alerts")
