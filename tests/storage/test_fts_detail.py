"""The FTS5 index without positions (SQLite migration 0022, `detail = column`): an archive from
before it upgrades with its posts still found, and queries FTS5 would take as phrases (which it
refuses without positions) are sent as their tokens, ANDed, a superset that search verifies."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from storage.fts_query import AllOf, AnyOf, Phrase, Term, fts_tokens, to_fts
from storage.records import Post
from storage.store import Store
from tests.storage.old_schema import old_sqlite

BEFORE = 21  # the last migration before 0022_fts_detail_column

ROWS = [
    "INSERT INTO sources (id, username, added_at) VALUES (1, 'demo', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas, stored_at)"
    " VALUES (1, 1, 5, 1000, 'Обмін полоненими.', 'обмін полоненими.', 'обмін полонений', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas, ocr_text,"
    " ocr_norm, ocr_lemmas, stored_at) VALUES (2, 1, 6, 2000, 'Фото.', 'фото.', 'фото',"
    " 'Енергетика', 'енергетика', 'енергетика', 0)",
    "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas, stored_at)"
    " VALUES (3, 1, 7, 3000, 'Мʼясо і хліб.', 'мʼясо і хліб.', 'мʼясо і хліб', 0)",
    # Since 0014 the repositories write the FTS row next to the post.
    "INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)"
    " SELECT id, norm, lemmas, ocr_norm, ocr_lemmas FROM posts",
]


def _fts_sql(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()
        return str(row[0])
    finally:
        conn.close()


async def _ids(store: Store, node: Term | Phrase | AllOf | AnyOf) -> list[int]:
    return sorted(p.id for p in await store.search.search(node))


async def test_an_archive_upgrades_to_the_index_without_positions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_sqlite(str(path), BEFORE, ROWS)
    assert "detail" not in _fts_sql(path)
    store = await Store.open(path)
    try:
        assert "detail = column" in _fts_sql(path)
        assert await _ids(store, Term("полонений")) == [1]
        assert await _ids(store, Term("енергетика")) == [2]  # the picture's words
        assert await _ids(store, Term("енерг", "norm", prefix=True)) == [2]
        # A phrase's words anywhere (FTS5's superset; search verifies order).
        assert await _ids(store, Phrase(("обмін", "полоненими"))) == [1]
        assert await _ids(store, Phrase(("мʼясо",))) == [3]
        # The index follows edits and deletions through the triggers, as before.
        src = await store.sources.ensure("demo")
        new = await store.posts.insert(src.id, Post("demo", 8, _date(), "Хліб."), "хліб.", "хліб")
        await store.db.execute("UPDATE posts SET norm = 'обмін.', lemmas = 'обмін' WHERE id = 3")
        await store.db.execute("DELETE FROM posts WHERE id = 1")
        assert await _ids(store, Term("хліб")) == [new]
        assert await _ids(store, Term("обмін")) == [3]
        await store.db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
        assert await store.db.integrity_check() == "ok"
    finally:
        await store.close()


def _date() -> datetime:
    return datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_term_of_several_tokens_is_sent_as_its_tokens() -> None:
    # unicode61 parts "x:word" at the colon: one quoted string would be a phrase.
    assert fts_tokens("x:word") == ("x", "word")
    assert to_fts(Term("x:word")) == '{lemmas ocr_lemmas} : ("x" AND "word")'
    assert to_fts(Term("енергетичний", "norm", prefix=True)) == '{norm ocr_norm} : "енер" *'
    assert to_fts(Term("a-енергетичний", "norm", prefix=True)) == (
        '{norm ocr_norm} : ("a" AND "енер" *)'
    )
    assert to_fts(Term("*")) is None


def test_a_branch_without_tokens_matches_nothing_and_the_others_still_count() -> None:
    assert to_fts(AnyOf((Term("___"), Term("обмін")))) == '({lemmas ocr_lemmas} : "обмін")'
    assert to_fts(AnyOf((Term("___"), Phrase(("*", "?"))))) is None


def test_only_exact_parts_are_excluded() -> None:
    """NOT of a superset would drop posts the query wants: a phrase (now its words anywhere), a
    term of several tokens or a prefix longer than the index are left to the caller's check."""
    node = AllOf(
        (Term("обмін"),),
        exclude=(
            Term("туреччина"),
            Phrase(("гуманітарний", "трек")),
            Term("x:word"),
            Term("енергетичний", "norm", prefix=True),
            Term("енер", "norm", prefix=True),
        ),
    )
    assert to_fts(node) == (
        '({lemmas ocr_lemmas} : "обмін") NOT ({lemmas ocr_lemmas} : "туреччина"'
        ' OR {norm ocr_norm} : "енер" *)'
    )


async def test_excluding_a_phrase_keeps_posts_with_its_words_apart(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "x.db")
    try:
        src = await store.sources.ensure("demo")
        apart = await store.posts.insert(
            src.id,
            Post("demo", 1, _date(), "Обмін: трек гуманітарний."),
            "обмін: трек гуманітарний.",
            "обмін трек гуманітарний",
        )
        node = AllOf((Term("обмін"),), exclude=(Phrase(("гуманітарний", "трек")),))
        assert await _ids(store, node) == [apart]
    finally:
        await store.close()
