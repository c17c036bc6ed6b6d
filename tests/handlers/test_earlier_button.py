"""The "Earlier posts" button on a story with a long history, over the fake Bot API, in each
language: one message, each older post recalled in a line, the rest counted. Texts written
for these tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from tests.handlers.harness import BASE, JOURNALIST, running_desk

LONG = "Енергосистема під тиском <b>увага</b> & бригади в мережах 110 кВ, " * 60


async def test_earlier_posts_of_a_long_history_fit_one_message(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        store = desk.store
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        old = [
            Post("grid_ministry_demo", 500 + k, BASE - timedelta(days=30 - k), f"{LONG}{k}.")
            for k in range(20)
        ]
        await Pipeline(store, alert=False).handle_batch(old)
        post = await store.posts.get_by_link("grid_ministry_demo", 519)
        assert post is not None
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"rel:{post.id}")
        await desk.api.wait_for(lambda a: len(a.sent_messages(JOURNALIST)) > before)
        # One message: the five lines the button lists (it was five 3,800-character quotes,
        # eight messages), then how many more there are.
        (listed,) = desk.bot_messages(JOURNALIST)[before:]
        lines = (listed.text or "").splitlines()
        assert lines[0] == desk.t("Earlier:")
        assert len(lines[1:-1]) == 5
        for k, line in enumerate(lines[1:-1]):
            assert line.endswith(f"https://t.me/grid_ministry_demo/{518 - k}")
            assert len(line) < 400
        more = desk.tr.ngettext(
            "…and more than {n} earlier post", "…and more than {n} earlier posts", 7
        )
        assert lines[-1] == more
