"""The FTS5 index without positions (SQLite migration 0022, `detail = column`): an archive from
before it upgrades with its posts still found, and queries FTS5 would take as phrases (which it
refuses without positions) are sent as their tokens, ANDed, a superset that search verifies."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.fts_query import AllOf, AnyOf, Column, FtsNode, Phrase, Term, fts_tokens, to_fts
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


# Characters a journalist's rule or a post may hold, the hostile ones included: apostrophes of
# every kind, hyphens and a soft hyphen, combining accents, FTS5 syntax (" * : ^ - + ( )),
# letters SQLite folds (ß ǅ ﬁ İ), characters newer than SQLite's Unicode 6.1 tables (🤝 ₽ ᲀ,
# which unicode61 keeps inside tokens) and letters it takes for separators (ᦰ ᦱ).
_HOSTILE = [
    *"абвгґєіїйя", *"abxz", *"0159", "e\u0301", "ё", "ß", "ǅ", "ﬁ", "İ", "'", "’", "ʼ", "-",
    "\u00ad", ":", "^", "*", '"', "+", "(", ")", "_", ".", "🤝", "🔥", "₽", "ᲀ", "ᦰ", "ᦱ", "日",
]  # fmt: skip


def _hostile_word(rng: random.Random) -> str:
    # One word in four without a token: to unicode61 all separators (ᦰ is a letter elsewhere).
    chars = _HOSTILE if rng.random() < 0.75 else [c for c in _HOSTILE if not fts_tokens(c)]
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 4)))


def _node(rng: random.Random, words: list[str], depth: int = 0) -> FtsNode:
    kind = rng.random() if depth < 2 else rng.random() * 0.6
    column: Column = rng.choice(("norm", "lemmas"))
    if kind < 0.3:
        return Term(rng.choice(words), column, prefix=rng.random() < 0.3)
    if kind < 0.45:
        return Term(" ".join(rng.sample(words, 2)), column)  # several tokens, or none
    if kind < 0.6:
        return Phrase(tuple(rng.sample(words, rng.randint(1, 3))), column)
    parts = tuple(_node(rng, words, depth + 1) for _ in range(rng.randint(1, 3)))
    if kind < 0.8:
        return AnyOf(parts)
    exclude = tuple(_node(rng, words, depth + 1) for _ in range(rng.randint(0, 2)))
    return AllOf(parts, exclude)


def _meaning(conn: sqlite3.Connection, node: FtsNode) -> set[int]:
    """What `node` means, asked of a twin index that keeps positions (FTS5 as it was before
    migration 0022): a term is the phrase of its tokens, a prefix its whole text, a phrase its
    words in order; a term without tokens is an empty phrase, which matches nothing."""
    if isinstance(node, AnyOf):
        return set().union(*(_meaning(conn, x) for x in node.parts))
    if isinstance(node, AllOf):
        found = set.intersection(*(_meaning(conn, x) for x in node.parts))
        return found.difference(*(_meaning(conn, x) for x in node.exclude))
    text = node.text if isinstance(node, Term) else " ".join(node.words)
    prefix = isinstance(node, Term) and node.prefix and bool(fts_tokens(text))
    cols = "{norm ocr_norm}" if node.column == "norm" else "{lemmas ocr_lemmas}"
    query = f'{cols} : "{text.replace(chr(34), chr(34) * 2)}"' + (" *" if prefix else "")
    return {int(r[0]) for r in conn.execute("SELECT rowid FROM twin WHERE twin MATCH ?", (query,))}


def test_every_query_is_a_superset_of_what_it_means_and_never_an_fts5_error(
    tmp_path: Path,
) -> None:
    """Random expression trees of hostile words over posts of the same words: FTS5 accepts
    every query `to_fts` writes (no phrase, no syntax error), its hits hold every post the
    tree means (what search then verifies), and no query comes back empty (None) while the
    tree means some post."""
    rng = random.Random(22)
    path = tmp_path / "w.db"
    old_sqlite(
        str(path), 10**6, ["INSERT INTO sources (id, username, added_at) VALUES (1, 'd', 0)"]
    )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        spec = _fts_sql(path).split("tokenize", 1)[1].split(",", 1)[0]
        conn.execute(
            "CREATE VIRTUAL TABLE twin USING fts5(norm, lemmas, ocr_norm, ocr_lemmas,"
            f" content = 'posts', content_rowid = 'id', tokenize {spec})"
        )
        words = [_hostile_word(rng) for _ in range(40)]
        conn.execute("BEGIN")  # one commit for the posts, not one per post waiting on the disk
        for pid in range(1, 301):
            cols = [" ".join(rng.sample(words, rng.randint(0, 4))) for _ in range(4)]
            conn.execute(
                "INSERT INTO posts (id, source_id, message_id, date, text, norm, lemmas,"
                " ocr_norm, ocr_lemmas, stored_at) VALUES (?, 1, ?, ?, '', ?, ?, ?, ?, 0)",
                (pid, pid, pid, *cols),
            )
        conn.execute("COMMIT")
        conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO twin (twin) VALUES ('rebuild')")
        meant = 0
        for _ in range(1000):
            node = _node(rng, words)
            want = _meaning(conn, node)
            fts = to_fts(node)
            if fts is None:
                assert not want, node
                continue
            got = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (fts,))
            assert want <= {int(r[0]) for r in got}, (node, fts)
            meant += bool(want)
        assert meant > 200  # most trees mean some post
    finally:
        conn.close()


async def test_the_import_benchmarks_index_check_runs_on_the_index_without_sizes(
    tmp_path: Path,
) -> None:
    """bench/import_search.py checks the index after its import: with `columnsize = 0` there
    is no posts_fts_docsize to count rows in (it stopped `make bench` with "no such table");
    FTS5's integrity-check against the posts (rank 1) finds a missing or stray row itself."""
    from bench import import_search

    store = await Store.open(tmp_path / "b.db")
    try:
        src = await store.sources.ensure("demo")
        await store.posts.insert(src.id, Post("demo", 1, _date(), "Хліб."), "хліб.", "хліб")
        await import_search._fts_intact(store)
        # A post the index lacks is still caught.
        await store.db.execute(
            "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, stored_at)"
            " VALUES (?, 2, 0, 'Сіль.', 'сіль.', 'сіль', 0)",
            (src.id,),
        )
        with pytest.raises(SystemExit):
            await import_search._fts_intact(store)
    finally:
        await store.close()
