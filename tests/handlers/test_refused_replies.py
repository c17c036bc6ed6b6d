"""Command replies Telegram refuses get the care alerts get before anyone reads "something went
wrong": formatting it cannot parse goes as plain text, a text longer than it takes in parts, a
reply to a command deleted meanwhile on its own. And in a desk group, where several people type
commands, each answer replies to its command. Over real HTTP to the fake Bot API."""

from __future__ import annotations

from pathlib import Path

from bot.handlers import SORRY
from tests.fakebot import Message
from tests.handlers.harness import ADMIN, JOURNALIST, DeskBot, running_desk

GROUP = -500_300
UNPARSABLE = 'Bad Request: can\'t parse entities: Unsupported start tag "b" at byte offset 0'
REPLY_GONE = "Bad Request: message to be replied not found"


def words(messages: list[Message]) -> str:
    """What the messages say, whitespace aside (a cut between parts drops it)."""
    return "".join("".join(m.text or "" for m in messages).split())


def sorry(desk: DeskBot, chat: int) -> bool:
    return any(m.text == desk.t(SORRY) for m in desk.bot_messages(chat))


async def answers(desk: DeskBot, user: int, text: str, chat: int | None = None) -> list[Message]:
    """Everything the bot sends to the chat after `text`, once it has gone quiet."""
    where = user if chat is None else chat
    before = len(desk.bot_messages(where))
    handled = desk.handling.finished + 1
    await desk.api.inject_message(user, text, chat_id=chat)
    await desk.api.wait_for(lambda api: len(api.sent_messages(where)) > before)
    await desk.handling.settled(handled)  # quiet: its handler is done
    return desk.bot_messages(where)[before:]


async def test_a_reply_telegram_cannot_parse_arrives_as_plain_text(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (usual,) = await answers(desk, JOURNALIST, "/help")
        desk.api.fail("sendMessage", chat_id=JOURNALIST, status=400, description=UNPARSABLE)
        (plain,) = await answers(desk, JOURNALIST, "/help")
        assert plain.text == usual.text and plain.parse_mode is None
        assert not sorry(desk, JOURNALIST)


async def test_a_reply_longer_than_telegram_takes_arrives_in_parts(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        (usual,) = await answers(desk, JOURNALIST, "/help")
        # Telegram counts the text as longer than its limit where we did not.
        desk.api.max_text = len(usual.text or "") // 3
        parts = await answers(desk, JOURNALIST, "/help")
        assert len(parts) >= 3
        assert words(parts) == words([usual])
        # The formatting kept, piece by piece (one cut inside a tag makes it two).
        kinds = [e["type"] for p in parts for e in p.entities]
        assert len(kinds) >= len(usual.entities)
        assert set(kinds) == {e["type"] for e in usual.entities}
        assert not sorry(desk, JOURNALIST)


async def test_in_a_group_answers_reply_to_their_command_or_go_alone(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=GROUP)
        asked = await desk.api.inject_message(JOURNALIST, "/sources", chat_id=GROUP)
        await desk.api.wait_for(lambda api: len(api.sent_messages(GROUP)) >= 2)
        answer = desk.bot_messages(GROUP)[-1]
        assert answer.reply_to == asked["message"]["message_id"]
        # The journalist deletes the command before the answer goes; Telegram refuses the
        # reply although told to send without it then.
        desk.api.fail("sendMessage", chat_id=GROUP, status=400, description=REPLY_GONE)
        (alone,) = await answers(desk, JOURNALIST, "/sources", chat=GROUP)
        assert alone.reply_to is None and alone.text == answer.text
        assert not sorry(desk, GROUP)


async def test_what_nothing_mends_still_gets_the_apology(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        desk.api.fail(
            "sendMessage", chat_id=JOURNALIST, status=400, description="Bad Request: odd"
        )
        (apology,) = await answers(desk, JOURNALIST, "/help")
        assert apology.text == desk.t(SORRY)


async def test_a_result_whose_progress_note_was_deleted_comes_on_its_own(
    tmp_path: Path,
) -> None:
    async with running_desk(tmp_path) as desk:
        # The journalist deletes "⏳ Trying the rule…" before the result replaces it.
        desk.api.fail(
            "editMessageText",
            chat_id=JOURNALIST,
            status=400,
            description="Bad Request: message to edit not found",
        )
        note, result = await answers(desk, JOURNALIST, "/rule test енергетики")
        assert (note.text or "").startswith("⏳")
        assert "енергетики" in (result.text or "") and result.entities
        assert not sorry(desk, JOURNALIST)


async def test_in_a_group_the_apology_replies_to_its_command(tmp_path: Path) -> None:
    async with running_desk(tmp_path) as desk:
        await desk.ask(ADMIN, "/deskchat on", chat_id=GROUP)
        desk.api.fail("sendMessage", chat_id=GROUP, status=400, description="Bad Request: odd")
        asked = await desk.api.inject_message(JOURNALIST, "/sources", chat_id=GROUP)
        await desk.api.wait_for(lambda api: sorry(desk, GROUP))
        apology = desk.bot_messages(GROUP)[-1]
        assert apology.reply_to == asked["message"]["message_id"]
