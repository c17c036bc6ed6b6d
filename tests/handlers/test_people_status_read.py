"""/people and /status as an admin and an editor read them, in each language, over the fake
Bot API.

Test data: invented people and names written for these tests.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.delivery.digest import release_quiet
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from tests.handlers.harness import ADMIN, BASE, EDITOR, JOURNALIST, running_desk


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


async def test_status_shows_a_removed_persons_alerts_as_cancelled(
    tmp_path: Path, lang: str
) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        store = desk.store
        await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
        pipe = Pipeline(store)
        for n in range(3):
            text = f"Енергосистема працює стабільно, зведення {n}."
            await pipe.handle(Post("grid_ministry_demo", 300 + n, BASE + timedelta(days=1), text))
        journalist = await store.people.by_user_id(JOURNALIST)
        assert journalist is not None
        owed = await store.alerts.for_person(journalist.id)
        assert len(owed) == 3 and {a.status for a in owed} == {"pending"}
        await desk.ask(ADMIN, f"/people remove {JOURNALIST}")
        # The release job's next minute settles what was owed to them.
        await release_quiet(store)
        # The editor's own three, still to send, and the removed journalist's, cancelled.
        assert await store.alerts.counts() == {"cancelled": 3, "pending": 3}
        (reply,) = await desk.ask(EDITOR, "/status")
        text = reply.text or ""
        cancelled = desk.t("cancelled, the person was removed from the desk: {n}", n=3)
        assert f"\n · {cancelled}" in text
        # Not a delivery failure, and no raw status word in any language.
        assert desk.t("failed to deliver: {n}", n=3) not in text
        assert "failed" not in text and "cancelled 3" not in text


async def test_audit_names_who_did_it_and_the_zone_of_its_times(tmp_path: Path, lang: str) -> None:
    async with running_desk(tmp_path, lang=lang) as desk:
        await desk.ask(EDITOR, "/watch @new_grid_demo", first_name="Богдана")
        await desk.ask(ADMIN, "/people add 8500 journalist", first_name="Dana")
        (reply,) = await desk.ask(ADMIN, "/audit", first_name="Dana")
        lines = (reply.text or "").splitlines()
        # The admin from settings reads Kyiv time (the desk's zone), and the header says so.
        assert lines[0] == desk.t("Audit log (newest first, times in {zone})", zone="Europe/Kyiv")
        # By name, not by a user id to look up in /people.
        added = desk.t("person added or role set")
        followed = desk.t("channel followed")
        assert any(f" Dana {added} " in line for line in lines), lines
        assert any(f" Богдана {followed} @new_grid_demo" in line for line in lines), lines
        assert not any(f" {ADMIN} " in line or f" {EDITOR} " in line for line in lines[1:])
