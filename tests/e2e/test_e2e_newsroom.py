"""Bugs a newsroom hit first, each pinned by the way it showed up: the desk bot over the fake Bot
API, the pipeline, the feed reader; every one runs on SQLite and on PostgreSQL. Test data:
invented channels and posts written for these tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery.notifier import Notifier
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from sources.jsonl import follow_feed
from storage.records import Deletion, Event, Post
from storage.store import Store
from tests.delivery.test_notifier import settings as bot_settings
from tests.handlers.harness import EDITOR, JOURNALIST, running_desk


async def test_search_with_exactly_one_full_page_offers_no_older_button(
    tmp_path: Path, new_db: Callable[[], str], lang: str
) -> None:
    # Five posts match and a page holds five: "Older ›" used to lead to "No more posts."
    async with running_desk(tmp_path, extra_posts=5, db=new_db(), lang=lang) as desk:
        older = desk.t("Older") + " ›"
        (page1,) = await desk.ask(JOURNALIST, "/search енергосистема")
        assert (page1.text or "").count("https://t.me/grid_ministry_demo/") == 5
        assert page1.reply_markup is None or not any(
            b["text"] == older for row in page1.reply_markup["inline_keyboard"] for b in row
        )
    async with running_desk(tmp_path / "six", extra_posts=6, db=new_db(), lang=lang) as desk:
        (page1,) = await desk.ask(JOURNALIST, "/search енергосистема")
        assert page1.reply_markup is not None
        (button,) = page1.reply_markup["inline_keyboard"][0]
        await desk.press(JOURNALIST, button["callback_data"], page1.message_id)
        page2 = desk.api.find_message(JOURNALIST, page1.message_id)
        assert page2 is not None and desk.t("page {n}", n=2) in (page2.text or "")
        assert (page2.text or "").count("https://t.me/grid_ministry_demo/") == 1
        assert page2.reply_markup is not None
        assert [b["text"] for b in page2.reply_markup["inline_keyboard"][0]] == [
            "‹ " + desk.t("Newer")
        ]


async def test_post_dates_the_first_version_by_the_post_not_by_our_clock(
    tmp_path: Path, new_db: Callable[[], str], lang: str
) -> None:
    # The first version has no edit date; it was stamped with the time we stored it.
    async with running_desk(tmp_path, db=new_db(), lang=lang) as desk:
        body, _draft = await desk.ask(
            JOURNALIST, "/post https://t.me/grid_ministry_demo/11", replies=2
        )
        text = body.text or ""
        # The journalist's zone is UTC; the post is dated 10:00, edited at 13:00.
        assert desk.t("Version {n} · {time}", n=1, time="2025-12-03 10:00") in text
        assert desk.t("Version {n} · {time}", n=2, time="2025-12-03 13:00") in text


async def test_a_forward_of_a_post_already_alerted_does_not_alert_the_same_people_again(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # Official channels forward each other all day: the journalist got the coordination HQ's
    # post, then the same quote and permalink again when the intelligence channel forwarded it.
    store = await Store.open(new_db())
    try:
        first = await store.people.add(role="journalist", user_id=11)
        await store.rules.add("обмін", rule_to_json(parse_rule("обмін")))
        pipe = Pipeline(store)
        text = "Відбувся черговий обмін: додому повернулися 40 захисників."
        when = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
        r1 = await pipe.handle(Post("hq_exchange_demo", 81, when, text))
        # Someone who joined after the original was sent still hears about it once.
        later = await store.people.add(role="journalist", user_id=12)
        forward = Post(
            "intel_service_demo",
            5,
            when + timedelta(minutes=15),
            text,
            forward_from="Штаб обміну",
            forward_link="https://t.me/hq_exchange_demo/81",
        )
        r2 = await pipe.handle(forward)
        assert (r1.alerts, r2.stored, r2.alerts) == (1, 1, 1)
        assert [a.kind for a in await store.alerts.for_person(first.id)] == ["new"]
        assert [a.kind for a in await store.alerts.for_person(later.id)] == ["new"]
        # A forward of a post we never stored alerts as before.
        r3 = await pipe.handle(
            Post(
                "intel_service_demo",
                6,
                when + timedelta(minutes=20),
                "Новий обмін готується.",
                forward_from="Штаб обміну",
                forward_link="https://t.me/hq_exchange_demo/99",
            )
        )
        assert r3.alerts == 2
    finally:
        await store.close()


async def test_a_feed_line_with_half_an_emoji_is_skipped_not_a_stall(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # JSON can escape half a surrogate pair; the line parsed, failed at the database, and the
    # feed retried it forever, so every later post waited behind it.
    store = await Store.open(new_db())
    try:
        pipe = Pipeline(store)
        feed = tmp_path / "feed.jsonl"
        line = '{"channel": "grid_ministry_demo", "id": %d, "date": "2025-12-03T09:0%d:00+00:00",'
        feed.write_text(
            (line % (1, 1))
            + ' "text": "Енергосистема \\ud83d тримається."}\n'
            + (line % (2, 2))
            + ' "text": "Енергосистема працює."}\n',
            encoding="utf-8",
        )
        stored_one = asyncio.Event()

        async def handle(event: Event) -> None:
            await pipe.handle(event)
            stored_one.set()

        stop = asyncio.Event()
        task = asyncio.create_task(follow_feed(feed, handle, poll_interval=0.05, stop=stop))
        try:
            await asyncio.wait_for(stored_one.wait(), 10)
        finally:
            stop.set()
            await task  # returns cleanly: the bad line did not raise out of the follower
        stored = await store.posts.get_by_link("grid_ministry_demo", 2)
        assert stored is not None and stored.text == "Енергосистема працює."
        assert await store.posts.count() == 1
    finally:
        await store.close()


async def test_an_imported_batch_alerts_in_the_order_of_the_posts_not_by_channel(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # `wirewatch import --alert` of a feed that interleaves channels: the alerts came out
    # grouped by channel (Nov 19 before Nov 18), not as the posts were made.
    store = await Store.open(new_db())
    try:
        person = await store.people.add(role="journalist", user_id=11)
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        when = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
        feed = [
            Post("grid_ministry_demo", 1, when, "Енергосистема: перше повідомлення."),
            Post("region_head_demo", 7, when + timedelta(hours=1), "Енергосистема області."),
            Post("grid_ministry_demo", 2, when + timedelta(hours=2), "Енергосистема: друге."),
            Post(
                "grid_ministry_demo",
                1,
                when,
                "Енергосистема: перше повідомлення, уточнене.",
                edit_date=when + timedelta(hours=3),
            ),
            Post("region_head_demo", 8, when + timedelta(hours=4), "Енергосистема вночі."),
        ]
        result = await Pipeline(store).handle_batch(feed)
        assert (result.stored, result.edited) == (4, 1)
        alerts = await store.alerts.for_person(person.id)
        order = []
        for alert in alerts:
            assert alert.post_id is not None
            post = await store.posts.get_by_id(alert.post_id)
            assert post is not None
            order.append((alert.kind, post.channel, post.message_id))
        assert order == [
            ("new", "grid_ministry_demo", 1),
            ("new", "region_head_demo", 7),
            ("new", "grid_ministry_demo", 2),
            ("edit", "grid_ministry_demo", 1),
            ("new", "region_head_demo", 8),
        ]
    finally:
        await store.close()


async def test_muting_a_source_also_stops_the_replies_about_its_earlier_posts(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # A journalist pressed "Mute this source" under an alert, and the channel's edit and
    # deletion of that very post still arrived as replies.
    store = await Store.open(new_db())
    try:
        muted = await store.people.add(role="journalist", user_id=11)
        other = await store.people.add(role="journalist", user_id=12)
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        pipe = Pipeline(store)
        when = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
        await pipe.handle(Post("grid_ministry_demo", 1, when, "Енергосистема стабільна."))
        src = await store.sources.by_username("grid_ministry_demo")
        assert src is not None
        await store.people.mute(muted.id, src.id, None)
        edited = Post(
            "grid_ministry_demo",
            1,
            when,
            "Енергосистема стабільна, ремонти тривають.",
            edit_date=when + timedelta(minutes=5),
        )
        assert (await pipe.handle(edited)).alerts == 1
        gone = Deletion("grid_ministry_demo", (1,), when + timedelta(minutes=9))
        assert (await pipe.handle(gone)).alerts == 1
        assert [a.kind for a in await store.alerts.for_person(muted.id)] == ["new"]
        assert [a.kind for a in await store.alerts.for_person(other.id)] == [
            "new",
            "edit",
            "delete",
        ]
    finally:
        await store.close()


async def test_a_second_photo_with_its_own_caption_is_not_an_edit_of_the_album(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # Each photo of an album can carry a caption. The second one replaced the album's text as
    # an "edit" (a false reply to every journalist, and search lost the real text); a
    # reconciliation re-reading both photos then flipped it back and forth.
    store = await Store.open(new_db())
    try:
        person = await store.people.add(role="journalist", user_id=11)
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        pipe = Pipeline(store)
        when = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
        first = Post(
            "grid_ministry_demo",
            10,
            when,
            "Енергосистема: відновили підстанцію.",
            media="photo",
            grouped_id=77,
        )
        second = Post(
            "grid_ministry_demo", 11, when, "Бригада на місці.", media="photo", grouped_id=77
        )
        await pipe.handle(first)
        assert (await pipe.handle(second)).edited == 0
        await pipe.handle(first)  # a reconciliation re-reads the album
        assert (await pipe.handle(second)).edited == 0
        album = await store.posts.get_by_link("grid_ministry_demo", 10)
        assert album is not None
        assert (album.version, album.text) == (1, "Енергосистема: відновили підстанцію.")
        # The album's own caption edited for real is still an edit.
        fixed = Post(
            "grid_ministry_demo",
            10,
            when,
            "Енергосистема: відновили дві підстанції.",
            media="photo",
            grouped_id=77,
            edit_date=when + timedelta(minutes=3),
        )
        assert (await pipe.handle(fixed)).edited == 1
        assert (await pipe.handle(second)).edited == 0
        kinds = [a.kind for a in await store.alerts.for_person(person.id)]
        assert kinds == ["new", "edit"]
    finally:
        await store.close()


async def test_feed_to_alerts_over_the_bot_api_to_search(
    tmp_path: Path, new_db: Callable[[], str]
) -> None:
    # The newsroom's whole path on each back end: a JSONL feed is followed, its posts matched
    # in any word form and stored, the alerts go out over the Bot API, and the journalist
    # finds the posts again with /search.
    async with running_desk(tmp_path, db=new_db()) as desk:
        await desk.ask(EDITOR, "/rule add відключення")
        pipe = Pipeline(desk.store)
        notifier = Notifier(desk.store, desk.api.bot(), bot_settings(desk.api))
        when = datetime(2025, 12, 8, 7, 0, tzinfo=UTC)
        wire = [
            ("oblenergo_demo", 1, "Планові відключення світла в області скасовано до понеділка."),
            ("oblenergo_demo", 2, "Бригади ремонтують лінію біля селища Зелене."),
            ("city_council_demo", 5, "Через негоду можливі аварійні відключення у трьох районах."),
        ]
        feed = tmp_path / "wire.jsonl"
        feed.write_text(
            "".join(
                json.dumps(
                    {
                        "channel": channel,
                        "id": mid,
                        "date": (when + timedelta(minutes=mid)).isoformat(),
                        "text": text,
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for channel, mid, text in wire
            ),
            encoding="utf-8",
        )
        handled: list[Event] = []
        all_in = asyncio.Event()

        async def handle(event: Event) -> None:
            await pipe.handle(event)
            handled.append(event)
            if len(handled) == len(wire):
                all_in.set()

        stop = asyncio.Event()
        task = asyncio.create_task(follow_feed(feed, handle, poll_interval=0.05, stop=stop))
        try:
            await asyncio.wait_for(all_in.wait(), 20)
        finally:
            stop.set()
            await task
        await notifier.drain_once()
        alerted = " ".join(m.text or "" for m in desk.bot_messages(JOURNALIST))
        assert "https://t.me/oblenergo_demo/1" in alerted
        assert "https://t.me/city_council_demo/5" in alerted
        assert "oblenergo_demo/2" not in alerted
        # Another form of the word finds both posts (lemmas), newest first, and not the third.
        (page,) = await desk.ask(JOURNALIST, "/search відключень")
        found = page.text or ""
        assert "city_council_demo/5" in found and "oblenergo_demo/1" in found
        assert found.index("city_council_demo/5") < found.index("oblenergo_demo/1")
        assert "oblenergo_demo/2" not in found
