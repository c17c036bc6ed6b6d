"""How long to mute a channel is asked with buttons; the journalist's choice answers the
question in place: the question becomes "Muted @channel until …" without its buttons, rather
than standing open under a pop-up that is gone in a moment. Over real HTTP to the fake Bot API."""

from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import JOURNALIST, running_desk


async def test_the_mute_question_becomes_its_answer(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        (asked,) = await desk.ask(JOURNALIST, "/mute @grid_ministry_demo")
        assert asked.reply_markup is not None
        week = next(
            b["callback_data"]
            for row in asked.reply_markup["inline_keyboard"]
            for b in row
            if b["callback_data"].endswith(":1w")
        )
        handled = desk.handling.finished + 1
        qid = await desk.api.inject_callback(JOURNALIST, week, message_id=asked.message_id)
        await desk.api.wait_for(lambda api: qid in api.callback_answers)
        await desk.handling.settled(handled)
        answered = desk.api.find_message(JOURNALIST, asked.message_id)
        assert answered is not None and answered.reply_markup is None
        muted = desk.t("Muted @{channel} {until}. /unmute @{channel} to undo.")
        head = muted.partition("{until}")[0].format(channel="grid_ministry_demo")
        assert (answered.text or "").startswith("🔇 " + head)
        assert len(desk.bot_messages(JOURNALIST)) == 1  # nothing more sent
        person = await desk.store.people.by_user_id(JOURNALIST)
        assert person is not None and await desk.store.people.muted_sources(person.id)
