"""The pipeline drafts the story: the quote of the rule that fired, threads of follow-ups, edit
replies that quote what changed. Every post here is written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.desk.search import search_posts
from bot.ingest import origins
from bot.ingest.origins import alert_context
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.models import StoredPost
from storage.records import Post
from storage.store import Store

T0 = datetime(2026, 1, 5, 13, 30, tzinfo=UTC)  # 15:30 in Kyiv

MEETING = (
    "Провів зустріч у Анкарі з Міністром закордонних справ Туреччини Хаканом Фіданом. "
    "Говорили про безпекову ситуацію та координацію подальших кроків. "
    "Окремо обговорили обмін полоненими: готуємо повернення ще 300 наших людей."
)
FOLLOW_UP = (
    "Також зустрівся з головою розвідки Туреччини Ібрагімом Калином. "
    "Обговорили звільнення полонених і повернення депортованих дітей."
)


async def _desk(tmp_path: Path, target: str | None = None) -> tuple[Store, int, int]:
    store = await Store.open(target or tmp_path / "story.db")
    await store.sources.upsert(
        "umerov_demo",
        attribution={
            "person_uk": "Рустам Умаров",
            "person_en": "Rustam Umarov",
            "role_uk": "секретар РНБО",
            "role_en": "NSDC Secretary",
        },
        gender="m",
    )
    person = await store.people.add(role="journalist", user_id=11, lang="en")
    # A desk rule about names and places, and one about the story: the story's must quote.
    names = await store.rules.add(
        "Туреччина OR Анкара OR Фідан", rule_to_json(parse_rule("Туреччина OR Анкара OR Фідан"))
    )
    story = await store.rules.add(
        "обмін полоненими OR полонені",
        rule_to_json(parse_rule("(обмін полонений) OR полонений")),
        priority=5,
    )
    assert names.id != story.id
    return store, person.id, story.id


async def test_the_quote_is_chosen_by_the_rule_that_fired(tmp_path: Path) -> None:
    store, person_id, story_id = await _desk(tmp_path)
    try:
        pipe = Pipeline(store)
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        (alert,) = await store.alerts.for_person(person_id)
        assert alert.rule_id == story_id
        plain = alert.payload["plain"]
        # The names rule holds more distinct words in the first sentence; the story's rule wins.
        assert "готуємо повернення ще 300 наших людей" in plain
        assert "Хаканом" not in plain.splitlines()[0]
        # The alert says which rule fired (not in the pasted text).
        assert "Rule: обмін полоненими OR полонені" in alert.payload["messages"][0]["html"]
        assert "Rule:" not in plain
        # The spans are stored with the alert, and every other surface finds the same quote.
        assert alert.spans and all(
            MEETING[a:b].casefold().startswith(("обмін", "полонен")) for a, b, _ in alert.spans
        )
        post = await store.posts.get_by_link("umerov_demo", 1)
        assert post is not None
        ctx = await alert_context(store, post, person_id)
        assert ctx.rule is not None and ctx.rule.id == story_id
        assert {(s.start, s.end) for s in ctx.spans} == {(a, b) for a, b, _ in alert.spans}
    finally:
        await store.close()


async def test_a_follow_up_replies_with_an_update_paragraph(tmp_path: Path) -> None:
    store, person_id, story_id = await _desk(tmp_path)
    try:
        pipe = Pipeline(store)
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        later = T0 + timedelta(hours=2, minutes=38)  # 18:08 in Kyiv
        await pipe.handle(Post("umerov_demo", 2, later, FOLLOW_UP))
        first, second = await store.alerts.for_person(person_id)
        assert second.reply_to_alert == first.id and second.rule_id == story_id
        paragraph = second.payload["plain"].split("\n\n")[0]
        assert paragraph == (
            "Updated at 6:08 p.m. Umarov also said: “Обговорили звільнення полонених і "
            "повернення депортованих дітей.”"
        )
        # Past the window (6 hours by default) a post on the same story is a story of its own.
        await pipe.handle(Post("umerov_demo", 3, later + timedelta(hours=7), FOLLOW_UP + " Ще."))
        third = (await store.alerts.for_person(person_id))[-1]
        assert third.reply_to_alert is None
        assert not third.payload["plain"].startswith("Updated")
    finally:
        await store.close()


async def test_a_thread_is_per_rule_and_window_is_configurable(tmp_path: Path) -> None:
    store, person_id, _ = await _desk(tmp_path)
    try:
        pipe = Pipeline(store, thread_window=timedelta(hours=1))
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        await pipe.handle(Post("umerov_demo", 2, T0 + timedelta(minutes=90), FOLLOW_UP))
        _, second = await store.alerts.for_person(person_id)
        assert second.reply_to_alert is None
        # A post only the names rule matches does not join the story's thread.
        await pipe.handle(Post("umerov_demo", 3, T0 + timedelta(minutes=100), "Прибув до Анкари."))
        third = (await store.alerts.for_person(person_id))[-1]
        assert third.reply_to_alert is None
    finally:
        await store.close()


async def test_each_journalist_follow_up_replies_to_their_own_latest_story(
    tmp_path: Path, db_target: str
) -> None:
    """One lookup serves all of a post's recipients: each reply goes to that journalist's own
    latest alert of the story, and one who joined after it began has nothing to reply to."""
    store, first_id, _ = await _desk(tmp_path, db_target)
    try:
        pipe = Pipeline(store)
        second_id = (await store.people.add(role="journalist", user_id=12, lang="uk")).id
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        late_id = (await store.people.add(role="journalist", user_id=13, lang="en")).id
        await pipe.handle(Post("umerov_demo", 2, T0 + timedelta(hours=1), FOLLOW_UP))
        await pipe.handle(Post("umerov_demo", 3, T0 + timedelta(hours=2), FOLLOW_UP + " Ще."))
        first, second, late = [
            await store.alerts.for_person(p) for p in (first_id, second_id, late_id)
        ]
        assert [len(first), len(second), len(late)] == [3, 3, 2]
        for alerts in (first, second):
            assert [a.reply_to_alert for a in alerts] == [None, alerts[0].id, alerts[1].id]
        assert [a.reply_to_alert for a in late] == [None, late[0].id]
    finally:
        await store.close()


async def test_an_edit_reply_quotes_the_sentence_that_changed(tmp_path: Path) -> None:
    store, person_id, _ = await _desk(tmp_path)
    try:
        pipe = Pipeline(store)
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        edited = MEETING.replace(
            "координацію подальших кроків", "координацію подальших кроків з партнерами"
        )
        await pipe.handle(Post("umerov_demo", 1, T0, edited, edit_date=T0 + timedelta(minutes=20)))
        original, edit = await store.alerts.for_person(person_id)
        assert edit.kind == "edit" and edit.reply_to_alert == original.id
        first_line = next(
            line for line in edit.payload["plain"].splitlines() if "said on Telegram" in line
        )
        assert "координацію подальших кроків з партнерами" in first_line
    finally:
        await store.close()


async def test_background_lists_older_posts_on_the_topic_newest_first(tmp_path: Path) -> None:
    store, person_id, _ = await _desk(tmp_path)
    try:
        await store.sources.upsert(
            "president_demo",
            attribution={"person_en": "Maksym Levchuk", "role_en": "President of Ukraine"},
            gender="m",
        )
        await store.sources.upsert(
            "koordshtab_demo",
            attribution={
                "role_en": "Coordination Headquarters for the Treatment of Prisoners of War",
                "short_role_en": "Coordination Headquarters",
            },
            gender="m",
        )
        quiet = Pipeline(store, alert=False)  # the archive, stored before the story
        day = timedelta(days=1)
        await quiet.handle(
            Post("president_demo", 7, T0 - 25 * day, "Обмін полоненими фактично зупинився.")
        )
        await quiet.handle(
            Post(
                "koordshtab_demo",
                8,
                T0 - 5 * day,
                "Кількість полонених окупантів зросла ще на 60.",
            )
        )
        await quiet.handle(Post("koordshtab_demo", 9, T0 - 4 * day, "Погода на завтра."))
        pipe = Pipeline(store, background=2)
        await pipe.handle(Post("umerov_demo", 1, T0, MEETING))
        # A newer post on the topic is not background to an older one.
        await quiet.handle(Post("koordshtab_demo", 10, T0 + day, "Обмін полоненими відбувся."))
        (alert,) = await store.alerts.for_person(person_id)
        background = alert.payload["plain"].split("Earlier:\n")[1].splitlines()
        assert background == [
            "On Dec. 31, 2025, the Coordination Headquarters said: “Кількість полонених "
            "окупантів зросла ще на 60.” https://t.me/koordshtab_demo/8",
            "On Dec. 11, 2025, President of Ukraine Maksym Levchuk said: “Обмін полоненими "
            "фактично зупинився.” https://t.me/president_demo/7",
        ]
        assert "<b>Обмін</b> <b>полоненими</b>" in alert.payload["messages"][0]["html"]
    finally:
        await store.close()


async def test_a_follow_up_on_another_day_names_the_day_and_not_its_own_story(
    tmp_path: Path,
) -> None:
    store, person_id, _ = await _desk(tmp_path)
    try:
        pipe = Pipeline(store, background=3)
        late = datetime(2025, 11, 29, 21, 0, tzinfo=UTC)  # 23:00 in Kyiv, 29 November
        await pipe.handle(Post("umerov_demo", 1, late, MEETING))
        await pipe.handle(Post("umerov_demo", 2, late + timedelta(hours=4), FOLLOW_UP))
        first, second = await store.alerts.for_person(person_id)
        assert second.reply_to_alert == first.id
        paragraph = second.payload["plain"].split("\n\n")[0]
        assert paragraph.startswith("Updated at 3 a.m., Nov. 30. Umarov also said: “")
        # The post the update replies to is the story, not its background.
        assert "https://t.me/umerov_demo/1" not in second.payload["plain"]
        # On the same day the time alone says it.
        await pipe.handle(Post("umerov_demo", 3, late + timedelta(hours=5), FOLLOW_UP + " Ще."))
        third = (await store.alerts.for_person(person_id))[-1]
        assert third.payload["plain"].startswith("Updated at 4 a.m. Umarov also said: “")
    finally:
        await store.close()


async def test_background_credits_a_forward_to_its_origin_once(tmp_path: Path) -> None:
    store, person_id, _ = await _desk(tmp_path)
    try:
        await store.sources.upsert(
            "koordshtab_demo",
            attribution={"short_role_en": "Coordination Headquarters", "role_en": "Koordshtab"},
            gender="m",
        )
        await store.sources.upsert(
            "intel_demo", attribution={"role_en": "Defence Intelligence"}, gender="n"
        )
        await store.sources.upsert("relay_demo", attribution={})
        quiet = Pipeline(store, alert=False)
        day = timedelta(days=1)
        original = "Це вже 40-й обмін полоненими цього року."
        await quiet.handle(Post("koordshtab_demo", 5, T0 - 2 * day, original))
        for channel in ("intel_demo", "relay_demo"):
            await quiet.handle(
                Post(
                    channel,
                    70,
                    T0 - day,
                    original,
                    forward_from="@koordshtab_demo",
                    forward_link="https://t.me/koordshtab_demo/5",
                )
            )
        # A forward whose original is not stored is still credited to the origin.
        await quiet.handle(
            Post(
                "intel_demo",
                71,
                T0 - day + timedelta(hours=1),
                "Полонені захисники повернулися додому.",
                forward_from="@ombudsman_demo",
                forward_link="https://t.me/ombudsman_demo/12",
            )
        )
        await Pipeline(store, background=3).handle(Post("umerov_demo", 1, T0, MEETING))
        (alert,) = await store.alerts.for_person(person_id)
        background = alert.payload["plain"].split("Earlier:\n")[1].splitlines()
        assert background == [
            "On Jan. 4, the channel @ombudsman_demo said: “Полонені захисники повернулися "
            "додому.” https://t.me/ombudsman_demo/12",
            "On Jan. 3, the Coordination Headquarters said: “Це вже 40-й обмін полоненими "
            "цього року.” https://t.me/koordshtab_demo/5",
        ]
    finally:
        await store.close()


async def test_an_update_leaves_every_post_of_its_thread_out_of_the_background(
    tmp_path: Path, db_target: str
) -> None:
    # A third post of the day in a thread listed the day's first post under "Earlier:" (only
    # the post it replied to was left out), and the thread's posts, newest of all, pushed the
    # archive (what the official said last month, which the third post recalls) into
    # "…and 2 earlier posts": the journalist had the thread above and lost the background.
    store, person_id, _ = await _desk(tmp_path, db_target)
    try:
        quiet = Pipeline(store, alert=False)
        await quiet.handle(
            Post(
                "umerov_demo",
                1,
                T0 - timedelta(days=30),
                "Домовилися про обмін полоненими до свят: 300 на 300.",
            )
        )
        pipe = Pipeline(store, background=1)
        await pipe.handle(Post("umerov_demo", 2, T0, MEETING))
        await pipe.handle(Post("umerov_demo", 3, T0 + timedelta(hours=1), FOLLOW_UP))
        await pipe.handle(
            Post(
                "umerov_demo",
                4,
                T0 + timedelta(hours=2),
                "Як і казав місяць тому, обмін полоненими 300 на 300 відбудеться.",
            )
        )
        first, second, third = await store.alerts.for_person(person_id)
        assert (second.reply_to_alert, third.reply_to_alert) == (first.id, second.id)
        background = third.payload["plain"].split("Earlier:\n")[1].split("\n\n")[0]
        assert "https://t.me/umerov_demo/2" not in background
        assert "https://t.me/umerov_demo/3" not in background
        assert background.splitlines() == [
            "On Dec. 6, 2025, NSDC Secretary Rustam Umarov said: “Домовилися про обмін "
            "полоненими до свят: 300 на 300.” https://t.me/umerov_demo/1"
        ]
    finally:
        await store.close()


async def test_a_long_threads_update_reads_its_background_a_page_at_a_time(
    tmp_path: Path, db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The background of an update was searched for as many more posts as its thread held, to
    # leave them out afterwards: in a thread of dozens of updates each draft read and built
    # hundreds of posts (a 2,000-post feed took twice as long and the service 12 MiB more).
    # The thread's posts are skipped as the search reads, a page of one background's size at
    # a time, and the archive past them still fills the background.
    store, person_id, _ = await _desk(tmp_path, db_target)
    asked: list[int] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["limit"])
        return await search_posts(*args, **kwargs)

    monkeypatch.setattr(origins, "search_posts", spy)
    try:
        quiet = Pipeline(store, alert=False)
        for day in (30, 29):
            text = f"Обмін полоненими, підсумки місяця: {day} днів тому."
            await quiet.handle(Post("umerov_demo", 31 - day, T0 - timedelta(days=day), text))
        pipe = Pipeline(store, background=2)
        steps = 14
        for k in range(steps):
            text = f"Обмін полоненими триває: етап {k + 1}."
            await pipe.handle(Post("umerov_demo", 10 + k, T0 + timedelta(minutes=10 * k), text))
        alerts = await store.alerts.for_person(person_id)
        assert len(alerts) == steps
        assert all(a.reply_to_alert == b.id for a, b in zip(alerts[1:], alerts, strict=False))
        background = alerts[-1].payload["plain"].split("Earlier:\n")[1].split("\n\n")[0]
        assert [line.rsplit(" ", 1)[-1] for line in background.splitlines()] == [
            "https://t.me/umerov_demo/2",
            "https://t.me/umerov_demo/1",
        ]
        assert asked and max(asked) == 2 * 2 + 2
    finally:
        await store.close()


async def test_an_update_in_a_long_thread_builds_no_more_posts_than_one_in_a_short_one(
    tmp_path: Path, db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each update's draft built every post of its thread (up to 200, words and all) to learn
    # their links, then read past them in the search a page at a time, building them again:
    # in make bench's feed, where one rule's thread runs the whole run, some 300 posts a
    # draft, 100,000 drafts in a long run. The thread's links are read without its posts,
    # and the search leaves its posts out in the query: an update reads about as much in a
    # thread of 30 as in one of 3.
    store, person_id, _ = await _desk(tmp_path, db_target)
    built: list[int] = []
    real_init = StoredPost.__init__

    def counting(self: StoredPost, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        real_init(self, *args, **kwargs)

    try:
        quiet = Pipeline(store, alert=False)
        for day in (30, 29, 28):
            text = f"Обмін полоненими, підсумки місяця: {day} днів тому."
            await quiet.handle(Post("umerov_demo", 31 - day, T0 - timedelta(days=day), text))
        await store.sources.upsert("ombudsman_demo", attribution={"person_uk": "Омбудсман"})
        pipe = Pipeline(store, background=2)
        cost: list[int] = []
        monkeypatch.setattr(StoredPost, "__init__", counting)
        for k in range(30):
            when = T0 + timedelta(minutes=10 * k)
            text = f"Обмін полоненими триває: етап {k + 1}."
            if k == 5:
                # Another channel forwards a post of the thread: the reader has its words
                # above already, so it is no background either (left out by its link).
                await quiet.handle(
                    Post(
                        "ombudsman_demo",
                        1,
                        when - timedelta(minutes=5),
                        "Обмін полоненими триває: етап 2.",
                        forward_from="@umerov_demo",
                        forward_link="https://t.me/umerov_demo/11",
                    )
                )
            built.clear()
            await pipe.handle(Post("umerov_demo", 10 + k, when, text))
            cost.append(len(built))
        alerts = await store.alerts.for_person(person_id)
        assert len(alerts) == 30
        assert all(a.reply_to_alert == b.id for a, b in zip(alerts[1:], alerts, strict=False))
        background = alerts[-1].payload["plain"].split("Earlier:\n")[1].split("\n\n")[0]
        assert [line.rsplit(" ", 1)[-1] for line in background.splitlines()[:2]] == [
            "https://t.me/umerov_demo/3",
            "https://t.me/umerov_demo/2",
        ]
        # The third update's cost bounds the thirtieth's (the thread's length is no part of it).
        assert max(cost[2:]) <= cost[2] + 2, cost
    finally:
        await store.close()
