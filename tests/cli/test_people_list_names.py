"""`wirewatch people list` names people as the bot's /people does: the Telegram name the bot kept
when they wrote to it, in an aligned column, with nothing a hostile name could do to the
operator's terminal. People write to the bot over the fake Bot API; the names are invented."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from wcwidth import width

from bot.cli.people import cmd_list
from bot.settings import Settings
from tests.handlers.harness import ADMIN, running_desk

# Clears the screen, sets the window title, rings the bell, then turns the rest right to left.
HOSTILE = "Ev\x1b[2Jil\x1b]0;pwned\x07 Doe\u202eeod"
WIDE = "李明"
PLAIN = "Оксана Бондар"
LONG = "Олександра-Марія Вишневецька-Коломийченко-Старицька"


async def _list(db: str, capsys: pytest.CaptureFixture[str], *, as_json: bool) -> str:
    capsys.readouterr()
    settings = Settings().model_copy(update={"db": db})
    assert await cmd_list(argparse.Namespace(json=as_json), settings) == 0
    return capsys.readouterr().out


async def test_people_list_shows_the_telegram_name_safely_and_aligned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "desk.sqlite")
    async with running_desk(tmp_path, db=db) as desk:
        for user_id, name in ((8401, HOSTILE), (8402, WIDE), (8403, PLAIN), (8404, LONG)):
            await desk.ask(ADMIN, f"/people add {user_id} journalist")
            await desk.ask(user_id, "/start", first_name=name)
        await desk.ask(ADMIN, "/people add @late_reporter journalist")
        shown = await _list(db, capsys, as_json=False)
        as_json = json.loads(await _list(db, capsys, as_json=True))

    lines = shown.splitlines()
    by_id = {uid: next(line for line in lines if str(uid) in line) for uid in (8401, 8402, 8403)}
    # The name the bot keeps, as /people shows it (before: not at all).
    assert PLAIN in by_id[8403] and WIDE in by_id[8402]
    # No control character reaches the terminal: each is written out as an escape.
    assert not any(ch in shown for ch in "\x1b\x07\u202e")
    assert "Ev\\x1b[2Jil\\x1b]0;pwned\\x07 Doe\\u202e" in by_id[8401]
    # A name wider than the column is clipped and marked; --json has all of it.
    long = next(line for line in lines if "8404" in line)
    assert LONG[:30] in long and LONG not in long and "…" in long
    # One column each: what follows the name starts at the same screen column on every line,
    # wide characters counted twice.
    starts = {width(line[: line.index(" en ")]) for line in lines}
    assert len(starts) == 1, lines
    # Someone added by @username who never wrote has no name yet.
    late = next(line for line in lines if "@late_reporter" in line)
    assert "not written yet" in late
    # Scripts get the name as Telegram gave it (JSON escapes it its own way).
    names = {p["user_id"]: p["name"] for p in as_json}
    assert names[8401] == HOSTILE and names[8402] == WIDE and names[8403] == PLAIN
    assert names[8404] == LONG
