"""Commands as editors, journalists and admins type them in a hurry, each over real HTTP
against the fake Bot API and once per language (uk, en, ru: the `lang` fixture), the expected
texts looked up in the catalogue: a space after `від:`, arguments in the other order. Each was
refused, or refused naming something the person had not typed.

Every channel and post here is invented for these tests (tests/handlers/harness.py seeds them).
"""

from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import EDITOR, JOURNALIST, running_desk

GRID = "grid_ministry_demo"
FROM_NEEDS_A_CHANNEL = "{name}: needs a channel like {name}:@channel_name at character {pos}"


async def test_a_space_after_from_is_forgiven_in_search_and_rules(
    tmp_path: Path, lang: str
) -> None:
    """`/search від: @channel`, as `з: вчора` already was: refused as "from: needs a channel",
    naming the filter in English to a reader who typed від:."""
    async with running_desk(tmp_path, lang=lang) as desk:
        (typed,) = await desk.ask(JOURNALIST, f"/search від: @{GRID}")
        (glued,) = await desk.ask(JOURNALIST, f"/search від:@{GRID}")
        assert f"https://t.me/{GRID}/10" in (typed.text or "")
        # The same posts as the filter typed without the space (the query line aside).
        assert (typed.text or "").splitlines()[1:] == (glued.text or "").splitlines()[1:]

        (r,) = await desk.ask(EDITOR, f"/rule add енергетики -от: https://t.me/{GRID}")
        (rule,) = await desk.store.rules.list()
        assert rule.compiled == {"and": [{"word": "енергетики"}, {"not": {"from": GRID}}]}

        # With nothing that is a channel after it, still refused, named as typed.
        (r,) = await desk.ask(JOURNALIST, "/search від: енергетики")
        assert desk.t(FROM_NEEDS_A_CHANNEL, name="від", pos=0) in (r.text or "")
        (r,) = await desk.ask(EDITOR, "/rule add енергетики ОТ:")
        assert desk.t(FROM_NEEDS_A_CHANNEL, name="ОТ", pos=11) in (r.text or "")
        assert len(await desk.store.rules.list()) == 1
