"""Symbols whose compatibility form holds letters (№ -> "No", ™ -> "TM", ℃ -> "°C", ㎞ -> "km")
are no words to the matcher, and search agrees on both back ends: "№12" is the number 12 for
`=12`, `12` and `125*`, never a word "no12". Other NFKC folds stay what they were: ligatures,
superscripts, fractions and Roman numerals are words in their compatibility form, and a word's
form is its own form (a stored rule is read back by it). Texts written
for these tests."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli.main import main
from bot.desk.search import search_posts
from bot.ingest.renorm import renormalise, renormalise_once
from bot.matching import analyze, match_rule, parse_rule, rule_from_json, rule_to_json
from bot.matching.normalize import EXPANDING_SYMBOLS, normalize, normalize_word, words
from bot.service.app import App
from bot.settings import Settings
from storage.records import Post
from storage.store import Store

TEXTS = [
    "Наказ №12 підписано сьогодні.",  # 1
    "Постанова № 12 набрала чинності.",  # 2
    "Розпорядження№12 від міністра.",  # 3: no space around №
    "Наказ №125 про інше.",  # 4
    "Гаряча лінія ℡ 0800 500 335.",  # 5
    "Бренд Brand™ new на ринку.",  # 6
    "Вночі до −5℃, вдень 3℃.",  # 7
    "Черга завдовжки 10㎞ на кордоні.",  # 8
    "Станція Ⓜ Хрещатик закрита.",  # 9
    "Квартира 50 м² у центрі.",  # 10
    "Півставки: ½ ставки для 12 лікарів.",  # 11
    "Фінал: ﬁnal match і XII століття, Ⅻ з'їзд.",  # 12
]
RULES = [
    "=12", "12", "125*", "=no12", "no12", "no", "=наказ", "=розпорядження", "=від", "0800",
    "tel", "=brand", "brandtm", "tm", "=5", "3", "c", "=10", "km", "=хрещатик", "m",
    "=м2", "м2", "=½", "ставки", "=final", "final", "=xii", "xii", "=125",
]  # fmt: skip


def test_the_list_is_every_symbol_nfkc_makes_letters_of() -> None:
    word = re.compile(r"[^\W_]")
    listed = re.compile(f"[{EXPANDING_SYMBOLS}]")
    found = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF
        and not word.match(chr(c))
        and word.search(unicodedata.normalize("NFKC", chr(c)))
    }
    assert found == {chr(c) for c in range(sys.maxunicode + 1) if listed.match(chr(c))}
    assert {"№", "™", "℡", "℃", "㎞", "Ⓜ"} <= found


def test_every_words_form_is_its_own_form() -> None:
    """A stored rule's word is read back by normalising it again: every word's normal form must
    be its own and hold no space. "0ʼʼ0" was "0''0" (read again, two words), ǣ was "æ" (read
    again, "ae"), ﷺ four words: the rule was accepted, then refused when read back."""
    word = re.compile(r"[^\W_]")
    for c in range(sys.maxunicode + 1):
        if 0xD800 <= c <= 0xDFFF or not word.match(chr(c)):
            continue
        form = normalize_word(chr(c))
        assert normalize_word(form) == form and " " not in form, hex(c)
    for raw, form in (("½", "1⁄2"), ("0ʼʼ0", "0'0"), ("пʼʼять", "п'ять"), ("Ǣ", "ae")):
        assert normalize_word(raw) == form
    for rule in ("½", "=½", "0ʼʼ0", "пʼʼять", "Ǣ", "⑴", "ﷺ"):
        node = parse_rule(rule)
        assert rule_from_json(rule_to_json(node)) == node, rule


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("Наказ №12", "наказ  12"),
        ("Наказ№12", "наказ 12"),
        ("Brand™", "brand "),
        ("℡ 0800", "  0800"),
        # Folds inside words stay: a ligature, a superscript, a Roman numeral.
        ("ﬁnal м² Ⅻ", "final м2 xii"),
    ],
)
def test_the_norm_column_has_the_matchers_words(text: str, norm: str) -> None:
    assert normalize(text) == analyze(text).norm == norm
    assert "no12" not in normalize(text)
    assert [w for w in re.split(r"[^\w]+", norm) if w] == words(text)


async def test_search_finds_what_the_matcher_finds_on_both_back_ends(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        src = await store.sources.ensure("mvs_demo")
        start = datetime(2026, 4, 1, tzinfo=UTC)
        for n, text in enumerate(TEXTS, 1):
            a = analyze(text)
            post = Post("mvs_demo", n, start + timedelta(minutes=n), text)
            await store.posts.insert(src.id, post, a.norm, a.lemma_text)
        found: dict[str, list[int]] = {}
        expected: dict[str, list[int]] = {}
        for rule in RULES:
            node = parse_rule(rule)
            expected[rule] = [
                n
                for n, text in reversed(list(enumerate(TEXTS, 1)))
                if match_rule(node, text, "mvs_demo") is not None
            ]
            page = await search_posts(store, rule, zone=ZoneInfo("UTC"), limit=50)
            found[rule] = [h.post.message_id for h in page.hits]
        assert found == expected
        # What a journalist expects: the order's number, however the № was typed.
        assert found["=12"] == found["12"] == [11, 3, 2, 1]
        assert found["125*"] == [4]
        assert found["=наказ"] == [4, 1] and found["=розпорядження"] == [3]
        # No word is made of the symbols.
        for rule in ("=no12", "no12", "no", "tel", "brandtm", "tm", "km", "m"):
            assert found[rule] == [], rule
        # Folds inside words still find their plain spelling.
        assert found["=final"] == [12] and found["=xii"] == [12] and found["=м2"] == [10]
    finally:
        await store.close()


# -- posts stored before: their `norm` held the glued letters ----------------------------------

# As the normalisation before this fix wrote them (NFKC between words too).
OLD_NORMS = {
    1: "наказ no12 підписано сьогодні.",
    3: "розпорядженняno12 від міністра.",
    6: "бренд brandtm new на ринку.",
}


async def _stored_before(store: Store) -> None:
    src = await store.sources.ensure("mvs_demo")
    start = datetime(2026, 4, 1, tzinfo=UTC)
    for n, text in enumerate(TEXTS, 1):
        a = analyze(text)
        post = Post("mvs_demo", n, start + timedelta(minutes=n), text)
        await store.posts.insert(src.id, post, OLD_NORMS.get(n, a.norm), a.lemma_text)


async def _archive_before(db: str) -> None:
    """A database at `db` holding TEXTS as they were stored before (`_stored_before`)."""
    store = await Store.open(db)
    try:
        await _stored_before(store)
    finally:
        await store.close()


async def _found(store: Store, rule: str) -> list[int]:
    page = await search_posts(store, rule, zone=ZoneInfo("UTC"), limit=50)
    return [h.post.message_id for h in page.hits]


async def test_reindex_rewrites_the_posts_stored_before(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        await _stored_before(store)
        assert await _found(store, "=12") == [11, 2]  # the old columns hide 1 and 3
        assert await _found(store, "=brand") == []
        done = await renormalise(store, batch=5)
        assert (done.read, done.changed) == (len(TEXTS), len(OLD_NORMS))
        assert await _found(store, "=12") == [11, 3, 2, 1]
        assert await _found(store, "=розпорядження") == [3]
        assert await _found(store, "=brand") == [6]
        again = await renormalise(store)
        assert (again.read, again.changed) == (len(TEXTS), 0)
    finally:
        await store.close()


def test_the_reindex_command_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "w.db")

    asyncio.run(_archive_before(db))
    assert main(["reindex", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"read": len(TEXTS), "rewritten": 3}
    assert main(["reindex", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == f"{len(TEXTS)} posts read, 0 rewritten"


async def test_the_service_reindexes_an_upgraded_archive_once_by_itself(db_target: str) -> None:
    """Nobody has to know `wirewatch reindex`: the first `wirewatch run` after the upgrade
    rewrites what differs before it listens, and remembers it did."""
    await _archive_before(db_target)

    async def run_once() -> None:
        app = App(Settings(db=db_target, health_port=0))
        await app.start()
        await app.shutdown()

    await run_once()
    store = await Store.open(db_target)
    try:
        assert await _found(store, "=12") == [11, 3, 2, 1]
        assert await _found(store, "=brand") == [6]
        # Done for this version: a second start reads no post again (a column put back the
        # old way stays so, which a new pass would have rewritten).
        await store.db.execute("UPDATE posts SET norm = ? WHERE message_id = 1", (OLD_NORMS[1],))
    finally:
        await store.close()
    await run_once()
    store = await Store.open(db_target)
    try:
        assert await _found(store, "=12") == [11, 3, 2]
    finally:
        await store.close()


def test_the_reindex_command_spares_the_service_a_second_pass(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")

    async def again() -> object:
        store = await Store.open(db)
        try:
            return await renormalise_once(store)
        finally:
            await store.close()

    asyncio.run(_archive_before(db))
    assert main(["reindex", "--db", db, "--json"]) == 0
    assert asyncio.run(again()) is None
