"""`wirewatch import` and `wirewatch search` end to end: real files, real SQLite, the real CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.matching import parse_rule, rule_to_json
from sources.export import load_export
from storage.store import Store
from tests.gen_export import generate_export

DATA = Path(__file__).parents[1] / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def import_good(capsys: pytest.CaptureFixture[str], db: Path) -> tuple[int, str, str]:
    """The well-formed sample export, imported as @good_channel into `db`."""
    good = DATA / "export_channel" / "result.json"
    return run(capsys, "import", str(good), "--source", "@good_channel", "--db", str(db))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _provision(db: Path, rule: str) -> None:
    store = await Store.open(db)
    try:
        await store.people.add(role="journalist", user_id=5001)
        await store.rules.add(rule, rule_to_json(parse_rule(rule)))
    finally:
        await store.close()


async def _count(db: Path, sql: str) -> int:
    store = await Store.open(db)
    try:
        row = await store.db.fetchone(sql)
        return int(row[0]) if row else 0
    finally:
        await store.close()


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "result.json"
    generate_export(path, 10_000, channel_id=1700000042, name="Синтетичний канал", seed=7)
    return path


@pytest.mark.slow
def test_ten_thousand_posts_import_search_and_reimport(
    tmp_path: Path, big_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    asyncio.run(_provision(db, "Анкара"))
    code, out, err = run(
        capsys, "import", str(big_export), "--source", "@synth_channel", "--alert", "--db", str(db)
    )
    assert code == 0, err
    assert "10000 new posts" in out
    alerts_after_first = asyncio.run(_count(db, "SELECT COUNT(*) FROM alerts"))
    assert alerts_after_first > 0

    # Oracle independent of FTS and the matcher: every form of Анкара starts with "Анкар".
    posts = load_export(big_export, source="synth_channel").posts
    expected = {p.message_id for p in posts if re.search(r"\bАнкар", p.text)}
    assert expected, "the generator should mention Ankara somewhere"
    code, out, err = run(capsys, "search", "Анкара", "--json", "--limit", "10000", "--db", str(db))
    assert code == 0, err
    hits = json.loads(out)
    assert {h["message_id"] for h in hits} == expected
    assert all(h["permalink"] == f"https://t.me/synth_channel/{h['message_id']}" for h in hits)
    dates = [h["date"] for h in hits]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert alerts_after_first == len(expected)  # one journalist, one alert per matching post

    # A phrase query only finds the words side by side, in any form.
    code, out, _ = run(
        capsys, "search", '"обмін полоненими"', "--json", "--limit", "10000", "--db", str(db)
    )
    phrase_hits = json.loads(out)
    assert phrase_hits
    assert all(re.search(r"обмін\w*\s+полонен", h["text"], re.I) for h in phrase_hits)

    # Same file again: nothing new, nobody alerted twice.
    code, out, err = run(
        capsys, "import", str(big_export), "--source", "@synth_channel", "--alert", "--db", str(db)
    )
    assert code == 0, err
    assert "0 new posts" in out and "0 alerts queued" in out
    assert asyncio.run(_count(db, "SELECT COUNT(*) FROM posts")) == 10_000
    assert asyncio.run(_count(db, "SELECT COUNT(*) FROM alerts")) == alerts_after_first


@pytest.mark.parametrize("broken", sorted(p.name for p in (DATA / "broken").iterdir()))
def test_broken_export_leaves_database_byte_for_byte(
    tmp_path: Path, broken: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    code, _, err = import_good(capsys, db)
    assert code == 0, err
    before = digest(db)
    bad = tmp_path / broken
    shutil.copy(DATA / "broken" / broken, bad)
    code, out, err = run(capsys, "import", str(bad), "--source", "@good_channel", "--db", str(db))
    assert code == 2
    assert err.startswith("wirewatch: ") and err.count("\n") == 1  # one clear line
    assert broken in err
    assert "Traceback" not in err + out
    assert digest(db) == before


def test_truncated_copy_of_a_real_export_is_refused(
    tmp_path: Path, big_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    import_good(capsys, db)
    before = digest(db)
    cut = tmp_path / "result.json"
    data = big_export.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    code, _, err = run(capsys, "import", str(cut), "--source", "@synth_channel", "--db", str(db))
    assert code == 2 and "result.json" in err
    assert digest(db) == before


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    cases = [
        ("import", str(tmp_path / "missing.json"), "--db", str(db)),
        (
            "import",
            str(DATA / "export_channel" / "result.json"),
            "--source",
            "not a name!",
            "--db",
            str(db),
        ),
        ("search", "(unbalanced", "--db", str(db)),
        ("search", "x", "--since", "yesterdayish", "--db", str(db)),
        ("search", "x", "--limit", "0", "--db", str(db)),
        ("search", "x", "--db", str(tmp_path / "nope.db")),
    ]
    # The database exists for the search cases that need one.
    import_good(capsys, db)
    for argv in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.startswith("wirewatch: ") and err.count("\n") == 1, (argv, err)


def test_jsonl_feed_import_and_demo_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = [
        {
            "channel": "@sec_council_demo",
            "id": 10,
            "date": "2025-12-01T10:00:00+02:00",
            "text": "Обмін полоненими відбувся сьогодні.",
        },
        {
            "channel": "sec_council_demo",
            "id": 10,
            "date": "2025-12-01T10:00:00+02:00",
            "edit_date": "2025-12-01T10:05:00+02:00",
            "text": "Обмін полоненими відбувся сьогодні вранці.",
        },
        {
            "channel": "sec_council_demo",
            "id": 11,
            "date": "2025-12-01T11:00:00+02:00",
            "text": "Прогноз погоди.",
        },
        {
            "channel": "sec_council_demo",
            "id": 11,
            "date": "2025-12-01T11:00:00+02:00",
            "deleted": True,
        },
    ]
    feed.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    db = tmp_path / "w.db"
    code, out, err = run(capsys, "import", str(feed), "--db", str(db))
    assert code == 0, err
    assert "2 new posts, 1 edits, 1 deletions" in out
    code, out, _ = run(capsys, "search", "полонений edited:yes", "--json", "--db", str(db))
    assert [h["message_id"] for h in json.loads(out)] == [10]
    code, out, _ = run(capsys, "search", "погода deleted:yes", "--json", "--db", str(db))
    assert [h["message_id"] for h in json.loads(out)] == [11]


async def _sources_and_desk(db: Path) -> None:
    store = await Store.open(db)
    try:
        await store.sources.ensure("genstaff_demo", peer_id=1654098731)
        await store.sources.ensure("hur_demo", peer_id=1590213377)
        await store.people.add(role="journalist", user_id=5001)
        # from: rules alert on every post of the channel, whatever it says.
        for rule in ("from:@genstaff_demo", "from:@hur_demo"):
            await store.rules.add(rule, rule_to_json(parse_rule(rule)))
    finally:
        await store.close()


async def _alert_dates(db: Path) -> list[int]:
    store = await Store.open(db)
    try:
        rows = await store.db.fetchall(
            "SELECT p.date FROM alerts a JOIN posts p ON p.id = a.post_id ORDER BY a.id"
        )
        return [int(r[0]) for r in rows]
    finally:
        await store.close()


def test_whole_account_import_alerts_in_time_order_across_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    asyncio.run(_sources_and_desk(db))
    code, _, err = run(
        capsys, "import", str(DATA / "export_account" / "result.json"), "--alert", "--db", str(db)
    )
    assert code == 0, err
    dates = asyncio.run(_alert_dates(db))
    assert len(dates) == 5  # three general staff posts, two intelligence posts
    assert dates == sorted(dates)  # interleaved by time, not channel by channel


def test_reimporting_a_feed_with_an_edit_adds_nothing_and_alerts_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "ri.jsonl"
    lines = [
        {"channel": "sec_council_demo", "id": 100, "date": "2025-12-01T10:00:00+02:00",
         "text": "Обмін полоненими завтра."},
        {"channel": "sec_council_demo", "id": 100, "date": "2025-12-01T10:00:00+02:00",
         "edit_date": "2025-12-01T10:30:00+02:00",
         "text": "Обмін полоненими відбудеться завтра вранці."},
    ]  # fmt: skip
    feed.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    db = tmp_path / "ri.db"
    asyncio.run(_provision(db, "обмін полоненими"))
    code, out, err = run(capsys, "import", str(feed), "--alert", "--db", str(db))
    assert code == 0, err
    assert "1 new posts, 1 edits" in out and "2 alerts queued" in out
    for _ in range(2):
        code, out, err = run(capsys, "import", str(feed), "--alert", "--db", str(db))
        assert code == 0, err
        assert "0 new posts, 0 edits" in out and "2 unchanged; 0 alerts queued" in out
    assert asyncio.run(_count(db, "SELECT count(*) FROM post_versions")) == 2
    assert asyncio.run(_count(db, "SELECT count(*) FROM alerts")) == 2


def test_a_feed_carries_a_pictures_identity_so_a_replay_sees_a_swap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A feed had no field for which picture a post showed: a photo replaced under the same
    # caption (what the listener records as a version) read as the same line again, and a
    # replay of the feed lost the swap.
    feed = tmp_path / "swap.jsonl"
    post = {
        "channel": "oblenergo_demo",
        "id": 40,
        "date": "2025-12-01T08:00:00+02:00",
        "text": "Графік відключень на завтра — на фото.",
        "media": "photo",
    }
    lines = [
        {**post, "media_key": "photo:2:5000001"},
        {**post, "media_key": "photo:2:5000002", "edit_date": "2025-12-01T08:20:00+02:00"},
    ]  # fmt: skip
    feed.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    db = tmp_path / "swap.db"
    code, out, err = run(capsys, "import", str(feed), "--db", str(db))
    assert code == 0, err
    assert "1 new posts, 1 edits" in out, out
    changed = "SELECT count(*) FROM post_versions WHERE changed = 'media'"
    assert asyncio.run(_count(db, changed)) == 1
    # Replayed, it is the same two states: nothing new.
    code, out, err = run(capsys, "import", str(feed), "--db", str(db))
    assert code == 0, err
    assert "0 new posts, 0 edits" in out, out
    assert asyncio.run(_count(db, "SELECT count(*) FROM post_versions")) == 2
