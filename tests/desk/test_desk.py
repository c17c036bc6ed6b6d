"""The desk service: input parsers and identity rules shared by the bot and the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.desk.desk import Desk
from bot.desk.inputs import (
    DeskError,
    parse_duration,
    parse_hhmm,
    parse_quiet,
    parse_who,
    parse_zone,
)
from bot.settings import BotSettings, Settings
from storage.store import Store


def test_parsers() -> None:
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    assert parse_duration("1w") == timedelta(days=7)
    assert parse_duration("forever") is None
    for bad in ("", "2x", "h", "9999w", "1h;DROP"):
        with pytest.raises(DeskError):
            parse_duration(bad)
    assert parse_hhmm("7:05") == "07:05"
    assert parse_quiet("23:00 – 07:00") == ("23:00", "07:00")
    assert parse_quiet("off") is None
    with pytest.raises(DeskError, match="different times"):
        parse_quiet("07:00-07:00")
    assert parse_who("@Night_Reporter") == (None, "night_reporter")
    assert parse_who("123") == (123, None)
    with pytest.raises(DeskError):
        parse_who("'; DROP TABLE people; --")
    assert parse_zone("Europe/Kyiv") == "Europe/Kyiv"
    with pytest.raises(DeskError):
        parse_zone("../../etc/passwd")


async def test_identify_admins_and_binding(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "d.sqlite")
    try:
        desk = Desk(store, Settings(db=tmp_path / "d.sqlite", bot=BotSettings(admins=[42])))
        assert await desk.identify(99, "stranger_here") is None
        admin = await desk.identify(42, None)
        assert admin is not None and admin.role == "admin"
        await desk.add_person("@later_bound", "editor", actor=42)
        bound = await desk.identify(77, "Later_Bound")
        assert bound is not None and bound.user_id == 77 and bound.role == "editor"
        # Someone else taking that username later is not that person.
        assert await desk.identify(78, "later_bound") is None
        with pytest.raises(DeskError, match="yourself"):
            await desk.remove_person("42", actor=42)
        actions = [a for _, _, a, _ in await store.state.audit_log()]
        assert actions == ["people.add"]
    finally:
        await store.close()


async def test_identify_keeps_a_persons_telegram_name(db_target: str) -> None:
    """/people names people by the name they have on Telegram: kept on first contact and on a
    rename, never written again while it stays the same; a stranger's is never kept."""
    store = await Store.open(db_target)
    try:
        desk = Desk(store, Settings(db=db_target, bot=BotSettings(admins=[42])))
        await desk.add_person("77", "journalist", actor=42)
        assert await desk.identify(99, None, "Незнайомець") is None
        seen = await desk.identify(77, None, "  Оксана \n Бондар ")
        assert seen is not None and seen.display == "Оксана Бондар"
        stored = await store.people.by_user_id(77)
        assert stored is not None and stored.display == "Оксана Бондар"
        renamed = await desk.identify(77, None, "Оксана Коваль")
        assert renamed is not None and renamed.display == "Оксана Коваль"
        # No name (an update without one) keeps the last.
        unnamed = await desk.identify(77, None, None)
        assert unnamed is not None and unnamed.display == "Оксана Коваль"
        assert [p.user_id for p in await store.people.list() if p.display] == [77]
    finally:
        await store.close()
