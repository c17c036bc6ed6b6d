"""Times a journalist reads name their zone when /tz differs from their phone's: /search and
/post over the fake Bot API, in each language. Texts written for these tests."""

from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import JOURNALIST, running_desk


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
