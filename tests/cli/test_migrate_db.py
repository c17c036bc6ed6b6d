"""`wirewatch migrate-db`: a SQLite archive copied into a real PostgreSQL, counts checked,
an interrupted copy resumed without a doubled or lost row. Posts written for this test."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.fts_query import Term
from storage.postgres.copy import TABLES, copy_archive, verify
from storage.records import Deletion, Post
from storage.store import Store

WHEN = datetime(2025, 10, 6, 6, 0, tzinfo=UTC)


async def _archive(path: Path, posts: int) -> None:
    """Something in every table: posts with edits and a deletion, an album, people, a mute,
    rules, alerts, audit and state."""
    store = await Store.open(path)
    try:
        ann = await store.people.add(role="journalist", user_id=301, username="ann_desk")
        await store.people.add(role="editor", user_id=302)
        await store.rules.add("водопостачання", rule_to_json(parse_rule("водопостачання")))
        pipe = Pipeline(store)
        batch = [
            Post(
                "water_utility_demo" if n % 2 else "city_hall_demo",
                n,
                WHEN + timedelta(minutes=n),
                f"Повідомлення {n}: водопостачання на вулиці {n % 17} відновлять до вечора."
                if n % 3 == 0
                else f"Повідомлення {n}: ремонт дороги триває.",
            )
            for n in range(1, posts + 1)
        ]
        await pipe.handle_batch(batch)
        await pipe.handle(
            Post(
                "water_utility_demo",
                3,
                WHEN + timedelta(minutes=3),
                "Повідомлення 3: водопостачання відновлено.",
                edit_date=WHEN + timedelta(hours=1),
            )
        )
        await pipe.handle(Deletion("city_hall_demo", (6,), WHEN + timedelta(hours=2)))
        await pipe.handle(
            Post(
                "city_hall_demo", 9001, WHEN, "Фото з місця ремонту.", grouped_id=5, media="photo"
            )
        )
        await pipe.handle(Post("city_hall_demo", 9002, WHEN, "", grouped_id=5, media="photo"))
        # One photo of the album deleted: the album stays, the photo is marked gone.
        await pipe.handle(Deletion("city_hall_demo", (9002,), WHEN + timedelta(hours=3)))
        src = await store.sources.by_username("city_hall_demo")
        assert src is not None
        await store.people.mute(ann.id, src.id, None)
        await store.sources.set_account_hash(src.id, 777000, -4_611_686_018_427_387_904)
        await store.accounts.assign(src.id, "alpha", pinned=True)
        await store.state.audit(302, "rule.add", "водопостачання")
        await store.state.set("listener", "running")
        await store.search_sessions.create("0badc0de", 301, "ремонт дороги")
        album = await store.posts.get_by_link("city_hall_demo", 9001)
        assert album is not None
        await store.media.add_file("ab" * 32, 2048, ".jpg", "photo")
        await store.media.attach(album.id, 9001, "ab" * 32)
        await store.media.set_ocr("ab" * 32, "Перекрито до 18:00")
        await store.translations.put(
            album.id, 1, "en", "Фото з місця ремонту.", "test", "A photo from the repair site."
        )
        await store.evidence.record(
            channel="city_hall_demo",
            channel_id=None,
            message_id=9001,
            kind="version",
            version=1,
            origin="record",
            raw='{"text": "Фото з місця ремонту."}',
        )
    finally:
        await store.close()


def test_migrate_db_copies_every_table_with_counts_that_match(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "archive.db"
    asyncio.run(_archive(db, 60))
    code = main(["migrate-db", str(db), pg_url, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    counts = {t["table"]: (t["sqlite"], t["postgres"]) for t in report["tables"]}
    assert set(counts) == {t for t, _ in TABLES}
    assert all(a == b for a, b in counts.values()), counts
    assert all(a > 0 for a, _ in counts.values()), counts  # every table had something to copy
    assert "posts" in err  # the progress bars

    async def check() -> None:
        sqlite, pg = await Store.open(db), await Store.open(pg_url)
        try:
            # The one edit wrote rows for versions 1 and 2; each other post is its own one.
            assert counts["post_versions"][0] == 2
            versions = [await s.posts.count_versions() for s in (sqlite, pg)]
            assert versions == [counts["posts"][0] + 1] * 2, (versions, counts)
            hits = [
                [p.id for p in await s.search.search(Term("водопостачання"), limit=100)]
                for s in (sqlite, pg)
            ]
            assert hits[0] == hits[1] and len(hits[0]) == 20
            assert (await pg.posts.get_by_link("city_hall_demo", 9002)) is not None
            # The identity sequences moved past the copied ids: new rows do not collide.
            src = await pg.sources.ensure("new_channel_demo")
            post_id = await pg.posts.insert(
                src.id, Post("new_channel_demo", 1, WHEN, "x"), "x", "x"
            )
            assert post_id > max(hits[0])
        finally:
            await sqlite.close()
            await pg.close()

    asyncio.run(check())


def test_an_interrupted_copy_run_again_loses_and_doubles_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    db = tmp_path / "archive.db"
    asyncio.run(_archive(db, 120))

    class Interrupted(Exception):
        pass

    def stop_midway(table: str, done: int, total: int) -> None:
        if table == "posts" and 0 < done < total:
            raise Interrupted

    with pytest.raises(Interrupted):
        asyncio.run(copy_archive(db, pg_url, progress=stop_midway, batch=25))
    partial = {c.table: c for c in asyncio.run(verify(db, pg_url))}
    assert 0 < partial["posts"].postgres < partial["posts"].sqlite
    seen: list[tuple[str, int]] = []
    counts = asyncio.run(
        copy_archive(db, pg_url, progress=lambda t, d, n: seen.append((t, d)), batch=25)
    )
    assert all(c.sqlite == c.postgres for c in counts), counts
    # The second run resumed after the posts already there instead of starting over.
    assert ("posts", partial["posts"].postgres) in seen
    # A third run finds nothing to add.
    again = asyncio.run(copy_archive(db, pg_url, batch=25))
    assert [(c.sqlite, c.postgres) for c in again] == [(c.sqlite, c.postgres) for c in counts]


def test_migrate_db_refuses_what_is_not_a_postgres_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "archive.db"
    assert main(["migrate-db", str(db), str(tmp_path / "other.db")]) == 2
    assert "not a postgresql:// URL" in capsys.readouterr().err


def test_doctor_on_postgres_names_the_server_and_the_session_lease(
    tmp_path: Path,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_ID", "1")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_HASH", "0" * 32)
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SESSION", str(tmp_path / "desk"))

    def doctor() -> dict[str, dict[str, str]]:
        main(["doctor", "--json", "--db", pg_url])
        return {c["check"]: c for c in json.loads(capsys.readouterr().out)}

    checks = doctor()
    assert checks["database"]["status"] == "ok"
    assert "password" not in checks["database"]["detail"]
    assert checks["database server"]["detail"].startswith("PostgreSQL ")
    assert checks["session lease"]["detail"].startswith("free")

    async def hold() -> None:
        holder = await Store.open(pg_url)
        try:
            assert await holder.try_lease("telegram-session:desk")
            # doctor runs in a thread of its own (asyncio.run): the lease is held meanwhile.
            checks = await asyncio.to_thread(doctor)
            assert checks["session lease"]["detail"].startswith("held by a running listener")
        finally:
            await holder.close()

    asyncio.run(hold())
