"""/search over the fake Bot API with what journalists type against an index without positions
(SQLite migration 0022) and with its own tokenizer: phrases, prefixes, exact forms, every kind of
apostrophe, hyphens and digits, FTS5's syntax characters, emoji against words. No query may
end in the "something went wrong" reply (an FTS5 error such as "phrase queries are not
supported"), and words typed against emoji are found.

Every post here is invented for this test.
"""

from __future__ import annotations

from pathlib import Path

from bot.handlers import SORRY
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.handlers.harness import BASE, JOURNALIST, running_desk

QUERIES = [
    '"енергетики відновили"', '"відновили енергетики"', "F-16", "5-й", "м'ясо", "м’ясо*",
    "мʼясо", "ене\u00adргетики", "енерг*", "=енергетики", "^енергетики", "a:b", "x^y",
    '"f-16 5-й"', "e\u0301nergy", "(енергетики OR ᦰᦱ)", '"ᦰᦱ ᦲ" OR енергетики', "NEAR(a b)",
    '"a*"', "=м'ясо'", "№5", "=№5", "½", "ﬁnal*", "x" * 300, '"' + "я " * 60 + '"',
]  # fmt: skip
# Found: the words typed against emoji, by exact form and prefix; the other branch of an OR
# whose phrase SQLite cannot index (ᦰ is a letter to Python, a separator to unicode61).
FOUND = {
    "=дякуємо": "💪🏻",
    "сил*": "💪🏻",
    "=захисникам": "💪🏻",
    '"ᦰᦱ ᦲ" OR енергетики': "Енергетики відновили",
}


async def test_hostile_searches_answer_and_find_words_against_emoji(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        await Pipeline(desk.store, alert=False).handle(
            Post("grid_ministry_demo", 900, BASE, "💪🏻Сила в єдності. Дякуємо🤝захисникам!")
        )
        sorry = desk.t(SORRY)
        for query in QUERIES:
            replies = await desk.ask(JOURNALIST, "/search " + query)
            assert sorry not in [r.text for r in replies], query
        for query, mark in FOUND.items():
            replies = await desk.ask(JOURNALIST, "/search " + query)
            assert mark in (replies[-1].text or ""), query
