"""`wirewatch draft <link>` against a temp-file database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.matching import index_fields
from storage.records import Post
from storage.store import Store

TEXT = (
    "Коротко про головне.\n"
    "Провела зустріч із партнерами щодо захисту енергетики. Домовилися про нові поставки "
    "обладнання <до зими> & ремонт підстанцій. Дякую за підтримку! 🇺🇦"
)


async def _seed(path: Path) -> None:
    store = await Store.open(path)
    try:
        src = await store.sources.upsert(
            "stelmakh_demo",
            title="Ірина Стельмах",
            gender="f",
            attribution={
                "person_uk": "Ірина Стельмах",
                "person_en": "Iryna Stelmakh",
                "role_uk": "міністерка енергетики",
                "role_en": "Minister of Energy",
            },
        )
        post = Post(
            channel="stelmakh_demo",
            message_id=2761,
            date=datetime(2026, 11, 18, 5, 40, tzinfo=UTC),
            text=TEXT,
            media="photo",
        )
        norm, lemmas = index_fields(post.text)
        await store.posts.insert(src.id, post, norm, lemmas)
        relay = Post(
            channel="relay_news_demo",
            message_id=15,
            date=datetime(2026, 11, 18, 6, 0, tzinfo=UTC),
            text="Ремонтні бригади вже виїхали на об'єкти.",
            forward_from="Ірина Стельмах",
            forward_link="https://t.me/stelmakh_demo/2770",
        )
        relay_src = await store.sources.ensure("relay_news_demo")
        norm, lemmas = index_fields(relay.text)
        await store.posts.insert(relay_src.id, relay, norm, lemmas)
    finally:
        await store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    asyncio.run(_seed(path))
    return path


def test_draft_prints_the_paste_ready_text(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["draft", "https://t.me/stelmakh_demo/2761", "--db", str(db), "--lang", "uk"])
    out = capsys.readouterr().out
    assert code == 0
    assert out == (
        "Міністерка енергетики Ірина Стельмах повідомила у Telegram: "
        "«Домовилися про нові поставки обладнання <до зими> & ремонт підстанцій».\n"
        "07:40, 18 листопада · https://t.me/stelmakh_demo/2761\n"
        "Фото: t.me/stelmakh_demo\n"
    )


def test_draft_json_in_another_zone_and_language(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "draft",
            "t.me/stelmakh_demo/2761",
            "--db",
            str(db),
            "--lang",
            "en",
            "--tz",
            "America/New_York",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["lead"] == "Iryna Stelmakh, Minister of Energy, said on Telegram"
    assert data["when"] == "12:40 a.m. (7:40 a.m. Kyiv time), Nov. 18"
    assert data["permalink"] == "https://t.me/stelmakh_demo/2761"
    assert data["credit"] == "Photo: t.me/stelmakh_demo"
    assert TEXT[data["quote_start"] : data["quote_end"]] == data["quote"]
    assert "&lt;до зими&gt; &amp;" in data["messages"][0]["html"]
    assert data["plain"].splitlines()[0].endswith("“" + data["quote"] + "”")
    assert data["quote_printed"] == "“" + data["quote"] + "”"


def test_draft_quotes_as_an_alert_for_the_rule_would(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["draft", "https://t.me/stelmakh_demo/2761", "--db", str(db), "--json"]
    assert main([*argv, "--rule", "захист енергетика"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["quote"] == "Провела зустріч із партнерами щодо захисту енергетики."
    assert data["rule"] == "захист енергетика"
    assert "<i>Правило: захист енергетика</i>" in data["messages"][-1]["html"]
    assert main([*argv, "--rule", "підстанція"]) == 0
    assert json.loads(capsys.readouterr().out)["quote"].startswith("Домовилися")
    assert main([*argv, "--rule", "(("]) == 2
    assert "--rule" in capsys.readouterr().err


def test_forwarded_post_is_attributed_to_the_known_origin(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["draft", "https://t.me/relay_news_demo/15", "--db", str(db)]) == 0
    first, meta = capsys.readouterr().out.splitlines()[:2]
    assert first.startswith("Міністерка енергетики Ірина Стельмах повідомила у Telegram: «")
    assert meta.endswith("https://t.me/stelmakh_demo/2770")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["draft", "not a link"], "not a post link"),
        (["draft", "https://t.me/stelmakh_demo"], "not a post link"),
        (["draft", "https://t.me/stelmakh_demo/9999"], "no stored post"),
        (["draft", "https://t.me/stelmakh_demo/2761", "--tz", "Mars/Base"], "unknown time zone"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


async def _thread(path: Path) -> None:
    """Last month's statement, then three posts of one day on it, an hour apart."""
    store = await Store.open(path)
    try:
        src = await store.sources.ensure("stelmakh_demo")
        day = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        posts = [
            (2700, datetime(2026, 10, 21, 9, 0, tzinfo=UTC), "Підстанцію відновимо до зими."),
            (2801, day, "Почали ремонт підстанції в області."),
            (2802, day.replace(hour=9), "Ремонт підстанції йде за графіком."),
            (2803, day.replace(hour=10), "Як і обіцяли місяць тому, підстанцію відновлено."),
        ]
        for mid, when, text in posts:
            norm, lemmas = index_fields(text)
            await store.posts.insert(src.id, Post("stelmakh_demo", mid, when, text), norm, lemmas)
    finally:
        await store.close()


def test_a_draft_of_an_update_leaves_its_whole_thread_out_of_the_background(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As the alert does: the day's first post came back under "Earlier:" of the third, and
    # last month's statement, the one it recalls, was left out of the three lines.
    asyncio.run(_thread(db))
    argv = ["draft", "https://t.me/stelmakh_demo/2803", "--db", str(db), "--lang", "en"]
    assert main([*argv, "--rule", "підстанція", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["plain"]
    assert plain.startswith("Updated at noon."), plain
    background = plain.split("Earlier:\n")[1]
    assert "stelmakh_demo/2801" not in background and "stelmakh_demo/2802" not in background
    assert "https://t.me/stelmakh_demo/2700" in background
