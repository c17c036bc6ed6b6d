"""/people as an admin reads it on a phone, in each language, over the fake Bot API.

Test data: invented people and names written for these tests.
"""

from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import ADMIN, JOURNALIST, running_desk


async def test_people_names_each_person_once(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        # Someone added by id who has no username, and who has written to the bot since.
        await desk.ask(ADMIN, "/people add 8400 journalist")
        await desk.ask(8400, "/start", first_name="Оксана")
        # Someone added by @username who has not written yet.
        await desk.ask(ADMIN, "/people add @late_reporter journalist")
        await desk.ask(JOURNALIST, "/start", first_name="Мирослава")
        (reply,) = await desk.ask(ADMIN, "/people", first_name="Dana")
        lines = (reply.text or "").splitlines()
        journalist = desk.t("journalist")
        by_id = next(line for line in lines if "8400" in line)
        # The id once, after the name; before, it was the name and then the id again.
        assert by_id.count("8400") == 1, by_id
        assert by_id == f"{journalist} · Оксана · {desk.t('id {id}', id=8400)}"
        seeded = next(line for line in lines if str(JOURNALIST) in line)
        assert seeded == f"{journalist} · Мирослава · {desk.t('id {id}', id=JOURNALIST)}"
        late = next(line for line in lines if "late_reporter" in line)
        assert late == f"{journalist} · @late_reporter · {desk.t('not written yet')}"
        # The editor has a username: the name, then @username, and no bare id.
        editor = next(line for line in lines if "desk_editor" in line)
        assert editor == f"{desk.t('editor')} · @desk_editor"
        # A rename is picked up the next time they write.
        await desk.ask(8400, "/help", first_name="Оксана  Бондар")
        (reply,) = await desk.ask(ADMIN, "/people")
        assert (
            f"{journalist} · Оксана Бондар · {desk.t('id {id}', id=8400)}"
            in (reply.text or "").splitlines()
        )
