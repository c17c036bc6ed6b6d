"""The ingest pipeline end to end on a real SQLite file: store, match, enqueue, idempotently."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.models import Person
from storage.records import Deletion, Post
from storage.store import Store

T0 = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


async def add_rule(store: Store, query: str, owner_id: int | None = None) -> int:
    rule = await store.rules.add(query, rule_to_json(parse_rule(query)), owner_id=owner_id)
    return rule.id


def post(mid: int, text: str, *, minutes: int = 0, **kw: object) -> Post:
    return Post(
        channel="sec_council",
        message_id=mid,
        date=T0 + timedelta(minutes=minutes),
        text=text,
        **kw,
    )  # type: ignore[arg-type]


async def test_matching_post_is_stored_indexed_and_alerted(store: Store) -> None:
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "обмін полоненими")
    pipe = Pipeline(store)
    r1 = await pipe.handle(
        post(1, "Сьогодні відбувся обмін полоненими: додому повернулися 84 захисники.")
    )
    r2 = await pipe.handle(post(2, "Погода в Києві сонячна."))
    assert (r1.stored, r1.alerts) == (1, 1)
    assert (r2.stored, r2.alerts) == (1, 0)
    alerts = await store.alerts.for_person(jo.id)
    assert len(alerts) == 1 and alerts[0].kind == "new"
    assert "https://t.me/sec_council/1" in alerts[0].payload["plain"]
    src = await store.sources.by_username("sec_council")
    assert src is not None and src.last_message_id == 2  # registered on first sight


async def test_same_event_twice_changes_nothing(store: Store) -> None:
    await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "полонені")
    pipe = Pipeline(store)
    p = post(5, "Повернули полонених з Курщини.")
    await pipe.handle(p)
    again = await pipe.handle(p)
    assert (again.stored, again.edited, again.alerts, again.duplicates) == (0, 0, 0, 1)
    assert await store.posts.count() == 1
    assert await store.posts.count_versions() == 1
    assert await store.alerts.depth() == 1


async def test_edit_makes_a_version_and_a_reply_follow_up(store: Store) -> None:
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "переговори")
    pipe = Pipeline(store)
    await pipe.handle(post(9, "Переговори в Анкарі триватимуть два дні."))
    edited = post(9, "Переговори в Анкарі триватимуть три дні.", edit_date=T0 + timedelta(hours=1))
    res = await pipe.handle(edited)
    assert res.edited == 1 and res.alerts == 1
    alerts = await store.alerts.for_person(jo.id)
    assert [a.kind for a in alerts] == ["new", "edit"]
    assert alerts[1].reply_to_alert == alerts[0].id and alerts[1].version == 2
    stored = await store.posts.get_by_link("sec_council", 9)
    assert stored is not None and stored.version == 2 and "три" in stored.text
    first = (await store.posts.versions(stored.id))[0]
    assert first.text.endswith("два дні.")


async def test_deletion_follows_up_once(store: Store) -> None:
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "санкції")
    pipe = Pipeline(store)
    await pipe.handle(post(3, "Нові санкції проти постачальників дронів."))
    gone = Deletion(channel="sec_council", message_ids=(3, 999), date=T0 + timedelta(hours=2))
    res = await pipe.handle(gone)
    assert res.deleted == 1 and res.alerts == 1
    res2 = await pipe.handle(gone)
    assert res2.deleted == 0 and res2.alerts == 0
    alerts = await store.alerts.for_person(jo.id)
    assert [a.kind for a in alerts] == ["new", "delete"]
    assert alerts[1].reply_to_alert == alerts[0].id


async def test_album_items_fold_into_one_post_with_the_caption(store: Store) -> None:
    await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "енергетика OR енергетичний")
    pipe = Pipeline(store)
    await pipe.handle(post(20, "", media="photo", grouped_id=77))
    await pipe.handle(
        post(21, "Ремонтники відновили енергетичну підстанцію.", media="photo", grouped_id=77)
    )
    await pipe.handle(post(22, "", media="photo", grouped_id=77))
    assert await store.posts.count() == 1
    album = await store.posts.get_by_link("sec_council", 22)
    assert album is not None and album.message_id == 20
    assert album.text.startswith("Ремонтники")
    assert await store.alerts.depth() == 1


async def test_personal_and_desk_rules_muting_and_blocked_people(store: Store) -> None:
    a = await store.people.add(role="journalist", user_id=1)
    b = await store.people.add(role="journalist", user_id=2)
    c = await store.people.add(role="editor", user_id=3)
    await add_rule(store, "дрони", owner_id=a.id)
    src = await store.sources.ensure("sec_council")
    await store.people.mute(b.id, src.id, None)
    await store.people.set_pref(c.id, "reachable", 0)
    await add_rule(store, "ППО")
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Сили ППО збили 40 дронів."))
    assert len(await store.alerts.for_person(a.id)) == 1
    assert await store.alerts.for_person(b.id) == []  # muted this source
    held = await store.alerts.held(c.id)
    assert len(held) == 1  # blocked the bot: kept, parked


async def test_rules_added_later_are_picked_up(store: Store) -> None:
    await store.people.add(role="journalist", user_id=1)
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Мобілізація: нові правила."))
    assert await store.alerts.depth() == 0
    await add_rule(store, "мобілізація")
    await pipe.handle(post(2, "Мобілізації стосується новий закон."))
    assert await store.alerts.depth() == 1


async def test_backfill_stores_without_alerting_and_batches_are_idempotent(store: Store) -> None:
    await store.people.add(role="journalist", user_id=1)
    await add_rule(store, "Анкара")
    events = [post(i, f"Зустріч в Анкарі номер {i}.", minutes=i) for i in range(1, 1201)]
    quiet = Pipeline(store, alert=False)
    r = await quiet.handle_batch(events, chunk=250)
    assert r.stored == 1200 and r.alerts == 0
    loud = Pipeline(store, alert=True)
    r2 = await loud.handle_batch(events)
    assert r2.stored == 0 and r2.duplicates == 1200 and r2.alerts == 0
    assert await store.posts.count() == 1200


async def test_backfill_posts_are_stored_but_alert_nobody(store: Store) -> None:
    await store.people.add(role="journalist", user_id=1)
    await add_rule(store, "Анкара")
    pipe = Pipeline(store)
    old = post(1, "Зустріч в Анкарі відбулася тиждень тому.", backfill=True)
    assert (await pipe.handle(old)).alerts == 0
    assert (await pipe.handle_batch([post(2, "Знову Анкара.", backfill=True)])).alerts == 0
    assert (await pipe.handle(post(3, "Нова зустріч в Анкарі."))).alerts == 1
    assert await store.posts.count() == 3


async def test_alerts_in_quiet_hours_are_held_for_the_digest(store: Store) -> None:
    from zoneinfo import ZoneInfo

    kyiv = datetime.now(ZoneInfo("Europe/Kyiv"))
    night = await store.people.add(role="journalist", user_id=1)
    awake = await store.people.add(role="journalist", user_id=2)
    start = (kyiv - timedelta(hours=1)).strftime("%H:%M")
    end = (kyiv + timedelta(hours=1)).strftime("%H:%M")
    await store.people.set_pref(night.id, "quiet_from", start)
    await store.people.set_pref(night.id, "quiet_to", end)
    await add_rule(store, "Анкара")
    await Pipeline(store).handle(post(1, "Делегація прибула до Анкари."))
    assert len(await store.alerts.held(night.id)) == 1
    assert await store.alerts.held(awake.id) == []
    assert len(await store.alerts.for_person(awake.id)) == 1


async def test_a_forward_is_dated_by_its_original_when_we_have_it(store: Store) -> None:
    await store.people.add(role="journalist", user_id=1)
    await add_rule(store, "from:@relay_channel")  # only the forwarder's posts alert
    pipe = Pipeline(store)
    await pipe.handle(post(40, "Делегація прибула на переговори."))  # 11:30 Kyiv
    forward = Post(
        channel="relay_channel",
        message_id=7,
        date=T0 + timedelta(minutes=15),  # forwarded at 11:45 Kyiv
        text="Делегація прибула на переговори.",
        forward_from="@sec_council",
        forward_link="https://t.me/sec_council/40",
    )
    assert (await pipe.handle(forward)).alerts == 1
    (alert,) = await store.alerts.for_person(1)
    plain = alert.payload["plain"]
    assert "https://t.me/sec_council/40" in plain
    assert "11:30" in plain and "11:45" not in plain


async def test_each_person_gets_the_draft_in_their_own_language_and_zone(store: Store) -> None:
    a = await store.people.add(role="journalist", user_id=1, lang="uk")
    b = await store.people.add(role="journalist", user_id=2, lang="en")
    c = await store.people.add(role="journalist", user_id=3, lang="uk", tz="America/New_York")
    d = await store.people.add(role="journalist", user_id=4, lang="uk")
    await add_rule(store, "Анкара")
    await Pipeline(store).handle(post(1, "Делегація прибула до Анкари."))
    plain = {p.id: (await store.alerts.for_person(p.id))[0].payload["plain"] for p in (a, b, c, d)}
    assert plain[a.id] == plain[d.id]  # same language, zone and rule: the same draft
    assert "said" in plain[b.id] and "повідом" in plain[a.id]
    assert "11:30" in plain[a.id] and "04:30" in plain[c.id]  # 09:30 UTC in Kyiv, New York


async def test_a_stored_rule_the_regex_engine_now_refuses_is_skipped_not_fatal(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # A rule saved before regexes moved to RE2 may use a look-behind, which RE2 refuses. It
    # must not stop the pipeline: the post is stored and the other rules still alert.
    jo = await store.people.add(role="journalist", user_id=11)
    await store.rules.add("/(?<=обмін )полоненими/", {"regex": "(?<=обмін )полоненими"})
    await add_rule(store, "обмін полоненими")
    pipe = Pipeline(store)
    with caplog.at_level(logging.ERROR, logger="bot.ingest.pipeline"):
        result = await pipe.handle(post(1, "Відбувся обмін полоненими."))
    assert (result.stored, result.alerts) == (1, 1)
    assert len(await store.alerts.for_person(jo.id)) == 1
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)


async def test_evidence_of_a_deletion_is_timed_when_we_noticed_it(store: Store) -> None:
    # A feed's deletion line carries the post's own date; the trail must say when wirewatch
    # noticed the deletion, not when the post was published.
    pipe = Pipeline(store)
    await pipe.handle(post(1, "Допис, який згодом видалять."))
    before = datetime.now(UTC).replace(microsecond=0)
    await pipe.handle(Deletion(channel="sec_council", message_ids=(1,), date=T0))
    records = await store.evidence.for_message("sec_council", 1)
    assert [r.kind for r in records] == ["version", "deletion"]
    assert records[-1].captured_at >= before


async def test_replaying_a_feed_with_an_edit_is_no_new_edit(store: Store) -> None:
    """A feed carries a post and then its edit; reading it again (an import run twice, the demo
    re-run) replays old versions: none of them is an edit, and nobody hears of one."""
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "обмін полоненими")
    pipe = Pipeline(store)
    feed = [
        post(100, "Обмін полоненими завтра."),
        post(100, "Обмін полоненими відбудеться зранку.", edit_date=T0 + timedelta(hours=1)),
    ]
    first = await pipe.handle_batch(feed)
    assert (first.stored, first.edited, first.alerts) == (1, 1, 2)
    for _ in range(2):
        again = await pipe.handle_batch(feed)
        assert (again.stored, again.edited, again.alerts) == (0, 0, 0)
        assert again.duplicates == 2
    stored = await store.posts.get_by_id(1)
    assert stored is not None and stored.text == feed[1].text and stored.version == 2
    assert [a.kind for a in await store.alerts.for_person(jo.id)] == ["new", "edit"]


async def test_an_older_edit_date_is_a_replay_and_a_newer_one_an_edit(store: Store) -> None:
    await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "переговори")
    pipe = Pipeline(store)
    await pipe.handle(post(7, "Переговори завтра."))
    later = T0 + timedelta(hours=2)
    assert (await pipe.handle(post(7, "Переговори в середу.", edit_date=later))).edited == 1
    # A state seen earlier than the stored one, with a text we never stored: superseded.
    stale = post(7, "Переговори у вівторок.", edit_date=T0 + timedelta(hours=1))
    assert (await pipe.handle(stale)).edited == 0
    # The official really changed it back, later: that is an edit.
    back = post(7, "Переговори завтра.", edit_date=later + timedelta(hours=1))
    assert (await pipe.handle(back)).edited == 1
    # An undated source with a text never seen is a new edit; with an old text, a replay.
    assert (await pipe.handle(post(7, "Переговори в четвер."))).edited == 1
    assert (await pipe.handle(post(7, "Переговори в середу."))).edited == 0
    assert await store.posts.count_versions() == 4


async def test_undated_edit_then_dated_edit_in_one_feed_are_both_edits(store: Store) -> None:
    """An undated edit is stamped with the time we saw it; that stamp must not make a later
    line's real (historical) edit date look stale."""
    pipe = Pipeline(store)
    feed = [
        post(8, "Брифінг о 10:00."),
        post(8, "Брифінг о 11:00."),
        post(8, "Брифінг о 12:00.", edit_date=T0 + timedelta(hours=1)),
    ]
    assert (await pipe.handle_batch(feed)).edited == 2
    assert (await pipe.handle_batch(feed)).edited == 0
    assert await store.posts.count_versions() == 3


async def test_an_edit_that_adds_the_rules_words_is_dated_as_edited(store: Store) -> None:
    # Posted at 11:30 Kyiv time saying nothing the rule wants; edited at 17:30 to add it. The
    # alert comes at 17:30: a draft that said only "11:30" put words said at 17:30 at 11:30.
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "Умєров")
    pipe = Pipeline(store)
    await pipe.handle(post(40, "Відбулася зустріч у Брюсселі."))
    later = T0 + timedelta(hours=6)
    res = await pipe.handle(
        post(40, "Відбулася зустріч у Брюсселі. Делегацію очолив Умєров.", edit_date=later)
    )
    assert res.alerts == 1
    alerts = await store.alerts.for_person(jo.id)
    assert [a.kind for a in alerts] == ["new"]
    assert (
        "11:30, 3 грудня 2025 року, змінено о 17:30 · https://t.me/sec_council/40"
        in (alerts[0].payload["plain"])
    ), alerts[0].payload["plain"]
    # A post never edited reads as before.
    await pipe.handle(post(41, "Умєров провів нараду.", minutes=10))
    plain = (await store.alerts.for_person(jo.id))[-1].payload["plain"]
    assert (
        "11:40, 3 грудня 2025 року · https://t.me/sec_council/41" in plain
        and "змінено" not in plain
    )


async def test_a_telegram_original_arriving_after_its_edit_is_no_edit(store: Store) -> None:
    # Two listener accounts during a hand-over (or one slowed by its database while the other
    # went on): the account that saw the edit stores it first, the other's copy of the
    # original comes after. Telegram marks every edited message with its edit date, so an
    # undated message from Telegram is the original: it was stored as version 2, the text
    # flipped back to the old one and journalists got '✏️ Updated' for an edit never made.
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "переговори")
    pipe = Pipeline(store)
    edited = post(
        12,
        "Переговори перенесено на четвер.",
        edit_date=T0 + timedelta(minutes=4),
        origin="telegram",
    )
    original = post(12, "Переговори відбудуться в середу.", origin="telegram")
    await pipe.handle(edited)
    late = await pipe.handle(original)
    assert (late.edited, late.alerts, late.duplicates) == (0, 0, 1)
    stored = await store.posts.get_by_link("sec_council", 12)
    assert stored is not None and stored.text == edited.text and stored.version == 1
    assert [a.kind for a in await store.alerts.for_person(jo.id)] == ["new"]


async def _alerted_then_deleted(store: Store) -> tuple[Person, Pipeline]:
    """A journalist alerted about post 3 and told, at T0 + 2 h, that it was deleted."""
    jo = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "санкції")
    pipe = Pipeline(store)
    await pipe.handle(post(3, "Нові санкції проти постачальників дронів.", origin="telegram"))
    await pipe.handle(
        Deletion(channel="sec_council", message_ids=(3,), date=T0 + timedelta(hours=2))
    )
    return jo, pipe


async def test_an_edit_made_before_the_deletion_arriving_after_it_keeps_the_post_deleted(
    store: Store,
) -> None:
    # Two listener accounts (or a reconciliation re-reading history): the deletion is seen
    # first, the edit the official made before deleting arrives after it. Telegram cannot edit
    # a deleted message, so an edit dated before the deletion is history: it is kept as a
    # version, but brought the post back ("deleted_at = NULL") and sent '✏️ Updated' to those
    # already told it was deleted.
    jo, pipe = await _alerted_then_deleted(store)
    late = post(
        3,
        "Нові санкції проти постачальників дронів і ракет.",
        edit_date=T0 + timedelta(hours=1),
        origin="telegram",
    )
    res = await pipe.handle(late)
    assert (res.edited, res.alerts) == (1, 0)
    stored = await store.posts.get_by_link("sec_council", 3)
    assert stored is not None and stored.deleted_at is not None
    assert stored.version == 2 and stored.text == late.text
    assert [a.kind for a in await store.alerts.for_person(jo.id)] == ["new", "delete"]


async def test_an_edit_made_after_a_deletion_shows_the_post_is_up(store: Store) -> None:
    # A deletion that was not one (the post is edited later): the post is up again.
    jo, pipe = await _alerted_then_deleted(store)
    later = post(
        3,
        "Нові санкції проти постачальників дронів і ракет.",
        edit_date=T0 + timedelta(hours=3),
        origin="telegram",
    )
    res = await pipe.handle(later)
    assert res.edited == 1
    stored = await store.posts.get_by_link("sec_council", 3)
    assert stored is not None and stored.deleted_at is None
    assert [a.kind for a in await store.alerts.for_person(jo.id)] == ["new", "delete", "edit"]


async def test_an_original_arriving_after_its_forward_does_not_alert_the_same_people_again(
    store: Store,
) -> None:
    # A busy channel is polled, not pushed: the finance ministry's forward of the premier's
    # post reached the desk first, and when the premier's own post came in a minute later the
    # journalist got the same quote, the same permalink, as a second story.
    budget = "Уряд схвалив проєкт бюджету на 2027 рік: оборона отримає 2,8 трлн грн."
    first = await store.people.add(role="journalist", user_id=11)
    await add_rule(store, "бюджет")
    pipe = Pipeline(store)

    def forward(channel: str, mid: int, of: int, minutes: int) -> Post:
        return Post(
            channel,
            mid,
            T0 + timedelta(minutes=minutes),
            budget,
            forward_from="@premier_demo10",
            forward_link=f"https://t.me/premier_demo10/{of}",
        )

    assert (await pipe.handle(forward("minfin_demo10", 70, of=500, minutes=5))).alerts == 1
    # Someone who joined after the forward was sent still hears about it once.
    later = await store.people.add(role="journalist", user_id=12)
    original = Post("premier_demo10", 500, T0, budget)
    assert (await pipe.handle(original)).alerts == 1
    assert [a.post_id for a in await store.alerts.for_person(first.id)] == [1]
    (alert,) = await store.alerts.for_person(later.id)
    stored = await store.posts.get_by_link("premier_demo10", 500)
    assert stored is not None and alert.post_id == stored.id

    # The same through an import.
    third = await store.people.add(role="journalist", user_id=13)
    assert (await pipe.handle(forward("defence_demo10", 9, of=501, minutes=30))).alerts == 3
    result = await pipe.handle_batch([Post("premier_demo10", 501, T0, budget)])
    assert result.alerts == 0  # everyone had the forward
    assert len(await store.alerts.for_person(third.id)) == 1
    # Two channels forwarding a post we do not hold: the second forward is no news either.
    assert (await pipe.handle(forward("minfin_demo10", 71, of=502, minutes=40))).alerts == 3
    assert (await pipe.handle(forward("defence_demo10", 10, of=502, minutes=45))).alerts == 0
    # Another post with the same words is another story.
    assert (await pipe.handle(Post("other_demo10", 8, T0, budget))).alerts == 3
