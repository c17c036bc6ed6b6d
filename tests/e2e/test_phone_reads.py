"""What a newsroom met first on the phone and at the desk, each pinned the way it showed up:
the desk bot over the fake Bot API, the pipeline and the notifier. Test data: invented channels
and posts written for these tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from bot.delivery.digest import release_quiet
from bot.delivery.notifier import Notifier
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.delivery.test_notifier import settings as bot_settings
from tests.handlers.harness import ADMIN, EDITOR, JOURNALIST, DeskBot, running_desk

NEWCOMER = 7010  # a journalist the admin added by user id before they opened the bot


async def test_alerts_to_someone_who_has_not_opened_the_bot_wait_for_them(
    tmp_path: Path, lang: str
) -> None:
    # The admin added a new journalist by user id; a story broke before they pressed Start.
    # Telegram answers "400 Bad Request: chat not found" to a bot writing first, and the
    # alert failed for good: when they opened the bot an hour later, nothing came.
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(ADMIN, f"/people add {NEWCOMER} journalist")
        await desk.ask(EDITOR, "/rule add енергосистема")
        desk.api.fail(
            None,
            chat_id=NEWCOMER,
            status=400,
            description="Bad Request: chat not found",
            times=None,
        )
        pipe = Pipeline(desk.store)
        notifier = Notifier(desk.store, desk.api.bot(), bot_settings(desk.api))
        when = datetime(2025, 12, 4, 9, 0, tzinfo=UTC)
        text = "Енергосистема працює стабільно, аварійних відключень немає."
        await pipe.handle(Post("grid_ministry_demo", 300, when, text))
        await notifier.drain_once()
        newcomer = await desk.store.people.by_user_id(NEWCOMER)
        assert newcomer is not None
        (alert,) = await desk.store.alerts.for_person(newcomer.id)
        assert alert.status == "held", (alert.status, alert.last_error)
        # The admin can see why nothing reaches them.
        (listing,) = await desk.ask(ADMIN, "/people")
        unreachable = desk.t("alerts on hold: has not opened the bot or blocked it")
        (line,) = [x for x in (listing.text or "").splitlines() if str(NEWCOMER) in x]
        assert line.endswith(unreachable), line

        # They open the bot: what waited for them arrives.
        desk.api.clear_faults()
        await desk.ask(NEWCOMER, "/start")
        await release_quiet(desk.store)
        await notifier.drain_once()
        said = [m.text or "" for m in desk.bot_messages(NEWCOMER)]
        assert any("https://t.me/grid_ministry_demo/300" in t for t in said), said
        (alert,) = await desk.store.alerts.for_person(newcomer.id)
        assert alert.status == "sent"
        (listing,) = await desk.ask(ADMIN, "/people")
        assert unreachable not in (listing.text or "")


async def test_a_channel_link_pasted_into_from_searches_that_channel(
    tmp_path: Path, lang: str
) -> None:
    # /mute and /watch take a channel's link as well as its @name, so journalists paste links:
    # /search read the slashes of "from:https://t.me/…" as a regular expression and answered
    # "regular expression not closed with /".
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed in (
            "/search from:https://t.me/grid_ministry_demo графіки",
            "/search графіки from:t.me/grid_ministry_demo/",
            "/search (графіки OR енергетики) from:https://t.me/s/grid_ministry_demo",
        ):
            (page,) = await desk.ask(JOURNALIST, typed)
            text = page.text or ""
            assert "https://t.me/grid_ministry_demo/11" in text, (typed, text)
            assert "border_service_demo" not in text
        # A regex after a link still reads as one.
        (page,) = await desk.ask(
            JOURNALIST, "/search from:https://t.me/grid_ministry_demo /скасован\\w+/"
        )
        assert "https://t.me/grid_ministry_demo/11" in (page.text or ""), page.text


async def test_invisible_characters_pasted_with_a_command_are_not_part_of_it(
    tmp_path: Path, lang: str
) -> None:
    # Text copied from a web page or an RTL chat carries invisible marks (a zero-width space,
    # a left-to-right mark, a BOM): "/mute @grid_ministry_demo" was refused as "not a channel
    # username: '@grid_ministry_demo'", a name that looked exactly right, and "/pause" followed
    # by one was an unknown command.
    zwsp, lrm, bom = "\u200b", "\u200e", "\ufeff"
    async with running_desk(tmp_path, lang=lang) as desk:
        (muted,) = await desk.ask(JOURNALIST, f"/mute @grid_ministry_demo{zwsp} 1d")
        assert (muted.text or "").startswith("🔇"), muted.text
        (zone,) = await desk.ask(JOURNALIST, f"/tz Europe/Kyiv{lrm}")
        assert desk.t("Times are now shown in {zone}.", zone="Europe/Kyiv") == zone.text
        (paused,) = await desk.ask(JOURNALIST, f"{bom}/pause{zwsp}")
        assert (paused.text or "").startswith("⏸"), paused.text
        body, _draft = await desk.ask(
            JOURNALIST, f"/post https://t.me/grid_ministry_demo/11{zwsp}", replies=2
        )
        assert "https://t.me/grid_ministry_demo/11" in (body.text or "")
        (added,) = await desk.ask(EDITOR, f"/rule add енерго{zwsp}система")
        assert "енергосистема" in (added.text or ""), added.text
        # An emoji's joiner is not invisible: it holds the emoji together.
        family = "👨\u200d👩\u200d👧"
        await desk.ask(EDITOR, f"/rule remove {zwsp}1")
        (rules,) = await desk.ask(EDITOR, "/rules")
        assert "енергосистема" not in (rules.text or ""), rules.text
        (glossary,) = await desk.ask(
            EDITOR, f"/glossary add place Київ{family} | Kyiv{family} | Киев{family}"
        )
        assert family in (glossary.text or ""), glossary.text


async def _forward(desk: DeskBot, channel: str | None, message_id: int) -> str:
    """A channel post forwarded to the bot by the journalist; the bot's answer."""
    origin: dict[str, object] = {"id": -1001234567890, "type": "channel", "title": "Канал"}
    if channel is not None:
        origin["username"] = channel
    before = len(desk.bot_messages(JOURNALIST))
    handled = desk.handling.finished + 1
    await desk.api.inject_update(
        {
            "message": {
                "message_id": 900 + message_id,
                "date": int(time.time()),
                "chat": {"id": JOURNALIST, "type": "private"},
                "from": desk.api.user(JOURNALIST),
                "text": "Пост, який журналістка побачила в Telegram.",
                "forward_origin": {
                    "type": "channel",
                    "chat": origin,
                    "message_id": message_id,
                    "date": int(time.time()),
                },
            }
        }
    )
    await desk.api.wait_for(lambda api: len(desk.bot_messages(JOURNALIST)) > before)
    await desk.handling.settled(handled)
    return desk.bot_messages(JOURNALIST)[before].text or ""


async def test_a_post_we_cannot_look_up_says_why(tmp_path: Path, lang: str) -> None:
    # A journalist forwarded a post from a channel the desk does not follow and read "no
    # stored post at …", as if the listener had missed it; one from a channel without a
    # public @username got "Send a command".
    async with running_desk(tmp_path, lang=lang) as desk:
        said = await _forward(desk, "unknown_chan_x", 5)
        assert said == "⚠️ " + desk.t(
            "We do not follow @{channel}, so its posts are not stored; an editor can add it "
            "with /watch @{channel}.",
            channel="unknown_chan_x",
        )
        (typed,) = await desk.ask(JOURNALIST, "/post https://t.me/unknown_chan_x/5")
        assert typed.text == said
        said = await _forward(desk, None, 5)
        assert said == "⚠️ " + desk.t(
            "That post is from a channel without a public @username: it cannot be looked up."
        )
        # A channel we follow, a post not stored (yet): as before.
        said = await _forward(desk, "grid_ministry_demo", 999)
        link = "https://t.me/grid_ministry_demo/999"
        assert said == "⚠️ " + desk.t("no stored post at {link}", link=link)
