"""What /search, /post and /rule test show, read as a journalist reads them on a phone, over
the fake Bot API, in each language: times name their zone when /tz differs from the phone's,
and matched words are bold. Texts written for these tests."""

from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import EDITOR, JOURNALIST, NO_SUCH_CHANNEL, FakeListener, running_desk


async def test_search_and_post_times_name_the_zone(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(JOURNALIST, "/tz Europe/Warsaw")
        (page,) = await desk.ask(JOURNALIST, "/search енергетики")
        text = page.text or ""
        # 09:00 UTC is 10:00 in Warsaw in December; the page says whose clock that is.
        zone_line = (
            desk.t("page {n}", n=1) + " · " + desk.t("times in {zone}", zone="Europe/Warsaw")
        )
        assert zone_line in text.splitlines()[0]
        assert "2025-12-03 10:00" in text
        replies = await desk.ask(JOURNALIST, "/post https://t.me/grid_ministry_demo/10", replies=2)
        head = (replies[0].text or "").splitlines()[0]
        assert head.endswith("2025-12-03 10:00 (Europe/Warsaw)"), head


async def test_rule_test_shows_the_matched_words_in_bold(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(JOURNALIST, "/rule test черги")
        # As /search shows them: bold, not "[черги]", which read as the post's own brackets.
        assert "На кордоні черги:" in (r.text or "")
        assert "На кордоні <b>черги</b>: &lt;b&gt;увага&lt;/b&gt; &amp;" in (r.raw or "")


async def test_sources_lists_a_failed_channel_in_one_clean_line(tmp_path: Path, lang: str) -> None:
    def missing(store):  # type: ignore[no-untyped-def]
        return FakeListener(store, missing={"ghost_demo"})

    async with running_desk(tmp_path, lang=lang, listener=missing) as desk:
        await desk.ask(EDITOR, "/watch @ghost_demo")
        (listed,) = await desk.ask(JOURNALIST, "/sources")
        (line,) = [x for x in (listed.text or "").splitlines() if x.startswith("@ghost_demo")]
        # A channel with no speaker had two spaces before its warning.
        gone = desk.t(NO_SUCH_CHANNEL, channel="ghost_demo")
        assert line == f"@ghost_demo {desk.t('(not followed)')} ⚠️ {gone}"
