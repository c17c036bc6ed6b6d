"""Commands typed the way journalists type them on a phone: durations with a space, a time zone
in lower case, a post link copied from an album or a comment thread. Each one was refused with
nothing but the usage line (or an English hint in a Ukrainian reply). aiogram's real long
polling against the fake Bot API, a temp SQLite database, once per language.

Test data: invented channels and posts (tests/handlers/harness.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.handlers.common import usage_line
from tests.handlers.harness import EDITOR, JOURNALIST, running_desk

# What a person of each language types for "three days" and "two weeks".
SPACED = {
    "uk": [("3 дні", 3), ("2 тижні", 14), ("5 днів", 5)],
    "ru": [("3 дня", 3), ("2 недели", 14), ("5 дней", 5)],
    "en": [("3 days", 3), ("2 weeks", 14), ("1 d", 1)],
}


async def test_a_duration_typed_with_a_space_mutes_for_that_long(
    tmp_path: Path, lang: str
) -> None:
    # `/mute @channel 3 дні` is what README promises; the handler took "3" and "дні" for two
    # arguments too many and answered only with the usage line.
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed, days in SPACED[lang]:
            before = datetime.now(UTC)
            (reply,) = await desk.ask(JOURNALIST, f"/mute @grid_ministry_demo {typed}")
            assert (reply.text or "").startswith("🔇"), (typed, reply.text)
            person = await desk.store.people.by_user_id(JOURNALIST)
            assert person is not None
            (until,) = (await desk.store.people.muted_sources(person.id)).values()
            assert until is not None
            wanted = (before + timedelta(days=days)).timestamp()
            assert abs(until - wanted) < 300, typed
        # Words that are no duration are refused as one, quoted as typed, over the usage line.
        (reply,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo 3 дні і ще")
        refusal = desk.t(
            "not a duration: '{value}' (use 30m, 2h, 1d, 1w or forever)", value="3 дні і ще"
        )
        usage = desk.t("Usage: {usage}", usage=usage_line("mute", desk.tr))
        assert reply.text == f"{refusal}\n{usage}"


async def test_a_refused_duration_suggests_units_in_the_readers_alphabet(
    tmp_path: Path, lang: str
) -> None:
    # The Ukrainian and Russian hints listed "1w" among Cyrillic units; the usage line below
    # them said 1тиж / 1нед.
    week = {"uk": "1тиж", "ru": "1нед", "en": "1w"}[lang]
    async with running_desk(tmp_path, lang=lang) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo 0")
        problem = (reply.text or "").split("\n")[0]
        assert week in problem, problem
        if lang != "en":
            assert "1w" not in problem, problem


async def test_a_time_zone_in_any_case_or_by_its_city_is_understood(
    tmp_path: Path, lang: str
) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        for typed, zone in [
            ("europe/kyiv", "Europe/Kyiv"),
            ("EUROPE/LONDON", "Europe/London"),
            ("Warsaw", "Europe/Warsaw"),
            ("new_york", "America/New_York"),
            ("utc", "UTC"),
        ]:
            (reply,) = await desk.ask(JOURNALIST, f"/tz {typed}")
            assert reply.text == desk.t("Times are now shown in {zone}.", zone=zone), typed
            person = await desk.store.people.by_user_id(JOURNALIST)
            assert person is not None and person.tz == zone
        # A city in two zones' names is not guessed, nor is a zone that does not exist.
        for typed in ("Mars/Base", "kyi"):
            (reply,) = await desk.ask(JOURNALIST, f"/tz {typed}")
            assert desk.t("unknown time zone '{value}' (e.g. Europe/Kyiv, UTC)", value=typed) in (
                reply.text or ""
            )


async def test_post_links_copied_from_telegram_open_the_post(tmp_path: Path, lang: str) -> None:
    # "Copy link" on a photo of an album gives ...?single; a comment's link carries ?comment=;
    # both were "not a link to a Telegram post".
    async with running_desk(tmp_path, lang=lang) as desk:
        for link in (
            "https://t.me/grid_ministry_demo/11?single",
            "https://t.me/grid_ministry_demo/11?comment=3",
            "t.me/grid_ministry_demo/11?embed=1&mode=tme",
            "https://t.me/grid_ministry_demo/11#comments",
        ):
            body, draft = await desk.ask(JOURNALIST, f"/post {link}", replies=2)
            assert "https://t.me/grid_ministry_demo/11" in (body.text or ""), link
            assert (draft.text or "").startswith("📝"), link
        # A channel link without a post number is still refused, with the reason.
        (reply,) = await desk.ask(JOURNALIST, "/post https://t.me/grid_ministry_demo?single")
        assert desk.t(
            "not a link to a Telegram post: {text}",
            text="https://t.me/grid_ministry_demo?single",
        ) in (reply.text or "")


async def test_a_rule_that_would_flood_or_never_fire_says_so_when_saved(
    tmp_path: Path, lang: str
) -> None:
    # A journalist saved `енергосистема` on a desk whose energy channel says it in every
    # bulletin and was alerted for every post with no word of warning; an editor mistyped a
    # channel in from: and the rule was saved as if fine, to stay silent for good.
    async with running_desk(tmp_path, lang=lang, extra_posts=30) as desk:
        (reply,) = await desk.ask(JOURNALIST, "/rule add енергосистема")
        text = reply.text or ""
        assert text.startswith("✅"), text
        rule = (await desk.store.rules.list())[-1]
        flood = desk.tr.ngettext(
            "It matches {hits} of the last {n} post: you will get an alert for most posts.",
            "It matches {hits} of the last {n} posts: you will get an alert for most posts.",
            34,
            hits=30,
        )
        undo = desk.t("/rule remove {id} takes it back.", id=rule.id)
        assert f"⚠️ {flood} {undo}" in text, text

        # A desk rule warns that everyone will be flooded.
        (reply,) = await desk.ask(EDITOR, "/rule add енергосистема OR кордон")
        everyone = desk.tr.ngettext(
            "It matches {hits} of the last {n} post: everyone on the desk will get an alert "
            "for most posts.",
            "It matches {hits} of the last {n} posts: everyone on the desk will get an alert "
            "for most posts.",
            34,
            hits=31,
        )
        assert everyone in (reply.text or ""), reply.text

        # A narrow rule, on a channel we follow, is saved without a word more.
        (reply,) = await desk.ask(EDITOR, "/rule add кордон from:@border_service_demo")
        assert "⚠️" not in (reply.text or "") and (reply.text or "").startswith("✅")

        # A channel we do not follow is named; the rule is saved all the same.
        (reply,) = await desk.ask(EDITOR, "/rule add from:@grid_ministy_demo кордон")
        silent = desk.t(
            "We do not follow @{channel}: the rule stays silent until an editor adds it with "
            "/watch.",
            channel="grid_ministy_demo",
        )
        assert f"⚠️ {silent}" in (reply.text or ""), reply.text
        assert (await desk.store.rules.list())[-1].query == "from:@grid_ministy_demo кордон"

        # The same rule again is not new: nothing to warn about twice.
        (reply,) = await desk.ask(JOURNALIST, "/rule add енергосистема")
        assert "⚠️" not in (reply.text or "")
