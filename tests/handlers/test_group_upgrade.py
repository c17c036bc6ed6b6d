"""A desk chat that Telegram upgrades to a supergroup (an admin of the group turned on a setting
only supergroups have: Telegram does it without asking, and the chat gets a new id). The desk
goes on using the bot there: its commands are answered under the new id, a reply to a command
sent before the upgrade reaches the new chat, and the move is logged once. Over real HTTP to the
fake Bot API, on both back ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handlers import SORRY, access
from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.handlers.harness import ADMIN, JOURNALIST, DeskBot, running_desk

OLD = -4_001  # a basic group's id
NEW = -1_000_000_004_001  # the supergroup Telegram made of it
UPGRADED = "upgraded to a supergroup"


def upgrades_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum(UPGRADED in r.getMessage() for r in caplog.records)


async def desk_chats(desk: DeskBot) -> str:
    (listing,) = await desk.ask(ADMIN, "/deskchat")
    return listing.text or ""


def failures(api: FakeBotAPI) -> list[str]:
    return [f"{r.method} {r.chat_id}: {r.description}" for r in api.requests if r.status == 400]


async def test_commands_from_the_upgraded_chat_are_the_desk_chats(
    tmp_path: Path, db_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_desk(tmp_path, db=db_target) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=OLD)
        await desk.ask(JOURNALIST, "/help", chat_id=OLD)
        # Telegram tells the bot in both chats, before anything is sent to either; the next
        # command comes from the new chat in the same batch of updates.
        await desk.api.upgrade_group(OLD, NEW, by=ADMIN)
        replies = await desk.ask(JOURNALIST, "/search енергетики", chat_id=NEW)
        assert replies[-1].text != desk.t(access.GROUP_REFUSAL)
        assert "Енергетики" in (replies[-1].text or "")
        listing = await desk_chats(desk)
        assert str(NEW) in listing and str(OLD) not in listing
        # The service messages are nothing to answer, and nothing went to the old chat.
        assert failures(desk.api) == []
        assert len(desk.bot_messages(NEW)) == len(replies)
    assert upgrades_logged(caplog) == 1


async def test_a_reply_to_a_command_sent_before_the_upgrade_reaches_the_new_chat(
    tmp_path: Path, db_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_desk(tmp_path, db=db_target) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=OLD)
        # The group is upgraded while a command typed in it is on its way (the service was
        # down, or Telegram's service messages come after): the bot learns it from the 400
        # answering its reply.
        await desk.api.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
        handled = desk.handling.finished + 1
        await desk.api.inject_message(JOURNALIST, "/help", chat_id=OLD)
        await desk.api.wait_for(lambda api: bool(api.sent_messages(NEW)))
        await desk.handling.settled(handled)
        (help_text,) = desk.bot_messages(NEW)
        assert (help_text.text or "").startswith(desk.t("Commands for journalists"))
        assert desk.t(SORRY) not in (help_text.text or "")
        # The desk chat is the new one now: its commands are answered, not refused.
        replies = await desk.ask(JOURNALIST, "/sources", chat_id=NEW)
        assert replies[-1].text != desk.t(access.GROUP_REFUSAL)
        assert str(NEW) in await desk_chats(desk)
        # Then Telegram's service messages arrive too: nothing more to move, nothing logged.
        await desk.api.upgrade_group(OLD, NEW, by=ADMIN)
        await desk.ask(JOURNALIST, "/help", chat_id=NEW)
    assert upgrades_logged(caplog) == 1


async def test_the_move_is_one_transaction_and_made_once(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        group = await store.people.add(role="journalist", user_id=OLD)
        await store.state.set("desk_chats", f"[{OLD}, -500]")
        assert await store.people.move_chat(OLD, NEW)
        assert not await store.people.move_chat(OLD, NEW)  # told again: nothing to move
        moved = await store.people.get(group.id)
        assert moved is not None and moved.user_id == NEW
        found = await store.state.get("desk_chats")
        assert found is not None and found[0] == f"[{NEW}, -500]"
    finally:
        await store.close()


async def test_dropping_another_desk_chat_keeps_the_upgraded_one(
    tmp_path: Path, db_target: str
) -> None:
    # Two desk chats; one is upgraded and the bot learns it from a 400 (not from the service
    # messages). Then an admin drops the other one before anyone writes in the new chat: the
    # list the bot writes back must hold the new id, not the old one it remembered.
    other = -4_002
    async with running_desk(tmp_path, db=db_target) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=OLD)
        await desk.ask(ADMIN, "/deskchat on", chat_id=other)
        await desk.api.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
        await desk.api.inject_message(JOURNALIST, "/help", chat_id=OLD)
        await desk.api.wait_for(lambda api: bool(api.sent_messages(NEW)))
        await desk.ask(ADMIN, "/deskchat off", chat_id=other)
        replies = await desk.ask(JOURNALIST, "/sources", chat_id=NEW)
        assert replies[-1].text != desk.t(access.GROUP_REFUSAL)
        listing = await desk_chats(desk)
        assert str(NEW) in listing and str(OLD) not in listing and str(other) not in listing


async def test_the_admins_list_of_desk_chats_names_the_new_id_at_once(
    tmp_path: Path, db_target: str
) -> None:
    # The bot learned of the upgrade from a 400 to a reply; nobody has written in the new
    # chat yet. An admin checking the desk chats in private must see the id they now work by.
    async with running_desk(tmp_path, db=db_target) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=OLD)
        assert str(OLD) in await desk_chats(desk)
        await desk.api.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
        await desk.api.inject_message(JOURNALIST, "/help", chat_id=OLD)
        await desk.api.wait_for(lambda api: bool(api.sent_messages(NEW)))
        listing = await desk_chats(desk)
        assert str(NEW) in listing and str(OLD) not in listing
