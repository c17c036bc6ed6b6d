"""PostgreSQL back end: the SQL translation, a twin for every SQLite-only statement, and search
that finds exactly what SQLite's FTS5 finds for the same posts and rules."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

import storage
from bot.desk.fts import rule_to_fts
from bot.desk.search import search_posts
from bot.matching import analyze, parse_rule
from storage.db import StorageError
from storage.fts_query import Phrase, Term
from storage.postgres.db import translate
from storage.postgres.store import PgStore
from storage.records import Post
from storage.store import Store
from tests import pg
from tests.storage.old_schema import old_postgres

IDS = frozenset({"posts", "alerts"})


def test_translation_numbers_marks_outside_literals_and_spells_sqlite_idioms() -> None:
    assert (
        translate("SELECT '?' , ? FROM t WHERE a = ?", IDS)
        == "SELECT '?' , $1 FROM t WHERE a = $2"
    )
    assert translate("INSERT OR IGNORE INTO album_items (a) VALUES (?)", IDS) == (
        "INSERT INTO album_items (a) VALUES ($1) ON CONFLICT DO NOTHING"
    )
    assert translate("INSERT INTO posts (a) VALUES (?)", IDS).endswith("RETURNING id")
    assert translate("SELECT 1 FROM rules WHERE owner_id IS ?", IDS).endswith(
        "IS NOT DISTINCT FROM $1"
    )
    with pytest.raises(StorageError, match="SQLite-only"):
        translate("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", IDS)
    with pytest.raises(StorageError, match="SQLite-only"):
        translate("UPDATE sources SET last_message_id = MAX(last_message_id, ?)", IDS)
    assert "MAX(id)" in translate("SELECT MAX(id), COUNT(*) FROM rules", IDS)


def _sql_strings(method: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(method):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
        if text and any(k in text for k in ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")):
            out.append(text)
    return out


async def test_every_sqlite_only_statement_has_a_postgres_twin(tmp_path: Path) -> None:
    # Other repositories grow new methods all the time: each one's SQL must either translate
    # or be overridden in the PostgreSQL store's repository of the same name.
    sqlite = await Store.open(tmp_path / "w.db")
    await sqlite.close()
    twins = PgStore.__new__(PgStore)
    PgStore.__init__(twins, _FakePg())  # type: ignore[arg-type]
    untranslatable = []
    for name, repo in vars(sqlite).items():
        if name == "db" or not hasattr(repo, "db"):
            continue
        twin = getattr(twins, name)
        assert isinstance(twin, type(repo)), f"PgStore.{name} is not a {type(repo).__name__}"
        tree = ast.parse(inspect.getsource(inspect.getmodule(type(repo))))  # type: ignore[arg-type]
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            if cls.name != type(repo).__name__:
                continue
            for method in (
                n for n in cls.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)
            ):
                overridden = getattr(type(twin), method.name) is not getattr(
                    type(repo), method.name
                )
                # db.run hands a function SQLite's own connection: no translating that.
                uses_run = any(
                    isinstance(n, ast.Attribute) and n.attr == "run" for n in ast.walk(method)
                )
                if uses_run and not overridden:
                    untranslatable.append(f"{type(repo).__name__}.{method.name}")
                for sql in _sql_strings(method):
                    try:
                        translate(sql, IDS)
                    except StorageError:
                        if not overridden:
                            untranslatable.append(f"{type(repo).__name__}.{method.name}")
    assert untranslatable == [], "give these a PostgreSQL twin in storage/postgres/repos.py"


class _FakePg:
    """Just enough for PgStore.__init__ to build its repositories (no server needed)."""

    url = path = "postgresql://nowhere/x"


WHEN = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
# Written for this test: hyphens, apostrophes in three spellings, digits in words, links,
# underscores, Latin diacritics, look-alike letters, acronyms, word forms.
TEXTS = [
    "Енергосистема працює стабільно, відключень не буде.",
    "Відключення світла в Києві скасовано: енергетики полагодили лінію.",
    "Прем'єр-міністр провів нараду щодо енергосистеми.",
    "Премʼєр-міністерка відвідала підстанцію №5 у Харкові.",
    "Прем’єр заявив про нові графіки відключень на 2026 рік.",
    "The prime minister met NATO officials in Kyiv to talk about the grid.",
    "NATO-Ukraine council: air defence for energy sites, see https://example.org/news_2025",
    "Café owners in Lviv report outages; Müller said the grid is fine.",
    "Covid-19 та грип: МОЗ радить щеплення, ковід ще не зник.",
    "Обмін полоненими: додому повернулися 150 захисників, серед них медики.",
    "Обміняли тіла загиблих; наступний обмін готують посередники.",
    "Енергoсистема (з латинською o всередині) теж енергосистема.",
    "снігопад_2025 та хуртовина паралізували трасу М-06",
    "Міністр енергетики: генерація відновлена на 80%.",
]
RULES = [
    "енергосистема",
    "відключення",
    "прем'єр",
    "прем'єр-міністр",
    "NATO",
    "grid",
    "cafe",
    "обмін полонений",
    "обмін OR щеплення",
    "енерг*",
    '"енергосистеми"',
    "ковід",
    "хуртовина",
    "2026",
    "міністр -енергетики",
    "блекаут",
    '"графік подачі"',
]
# Text read from pictures (OCR), searched alongside the caption on both back ends.
OCR = {2: "ГРАФІК ПОДАЧІ СВІТЛА: блекаут у двох черговостях", 7: "Графік подачі газу"}


async def _fill(store: Store, texts: list[str], ocr: dict[int, str]) -> None:
    """Post n (from 1) of `texts` a minute after the one before, analysed as the pipeline does,
    with `ocr[n]` as the text read from its picture."""
    src = await store.sources.ensure("search_demo")
    for n, text in enumerate(texts, 1):
        a = analyze(text)
        post = Post("search_demo", n, WHEN + timedelta(minutes=n), text)
        post_id = await store.posts.insert(src.id, post, a.norm, a.lemma_text)
        if n in ocr:
            o = analyze(ocr[n])
            await store.posts.set_ocr(post_id, ocr[n], o.norm, o.lemma_text)


async def test_search_finds_the_same_posts_on_both_back_ends(tmp_path: Path, pg_url: str) -> None:
    found: dict[str, list[list[int]]] = {}
    for label, target in (("sqlite", str(tmp_path / "s.db")), ("postgres", pg_url)):
        store = await Store.open(target)
        try:
            await _fill(store, TEXTS, OCR)
            results = []
            for rule in RULES:
                node = rule_to_fts(parse_rule(rule))
                assert node is not None, rule
                results.append([p.message_id for p in await store.search.search(node, limit=50)])
            found[label] = results
        finally:
            await store.close()
    assert found["postgres"] == found["sqlite"]
    # And the searches found something (the OCR-only words too): not empty lists agreeing.
    assert sum(1 for r in found["sqlite"] if r) >= len(RULES) - 1
    assert found["sqlite"][RULES.index("блекаут")] == [2]


# Written for this test: what journalists type and posts hold that the two back ends tokenise
# each their own way (unicode61 with its separators; PostgreSQL's [^[:alnum:]]): hyphens and
# digits, apostrophes of three kinds, emoji of every Unicode age against words, a soft hyphen,
# accents, FTS5 syntax characters, letters SQLite takes for separators (ᦰ), NFKC expansions.
HOSTILE_TEXTS = [
    "F-16 прибули до Києва, F16 теж.",
    "5-й батальйон і 5 й рота.",
    "М’ясо подорожчало; м'ясний ринок, мʼясна лавка.",
    "Дякую🤝 захисникам, 💪🏻Сила!",
    "🫡Слава ЗСУ, ⚡️Увага.",
    "ене\u00adргетика і енергетика.",
    "Ціна 100₽ за кг.",
    "e\u0301nergy café naïve.",
    'x:word a^b c*d "q" (e) -f +g.',
    "ᲀᲁ 日本語 한국어 ᦰᦱ ᦲ обмін.",
    "№5 і ½ і ㎏.",
    "Straße STRASSE İstanbul.",
]
HOSTILE_RULES = [
    "F-16", "f16", '"5-й батальйон"', "=м'ясо", "м’яс*", "=дякую", "слав*", "=сила", "увага",
    '"x word"', "a^b", "енерг*", "=енергетика", "energy", "cafe", "ᲀᲁ", "日本語", "strasse",
    "istanbul", '"ᦰᦱ ᦲ" OR обмін', "=100", "кг", "word -a", "(F-16 OR 5-й) -Києва", "=x", "№5",
]  # fmt: skip


async def test_search_pages_agree_on_both_back_ends_for_hostile_queries(
    tmp_path: Path, pg_url: str
) -> None:
    """What a journalist sees (/search's pages, hits verified by the matcher) is the same on
    both back ends, though FTS5 (no positions, its own tokenizer) and PostgreSQL pre-filter
    differently."""
    found: dict[str, dict[str, list[int]]] = {}
    for label, target in (("sqlite", str(tmp_path / "h.db")), ("postgres", pg_url)):
        store = await Store.open(target)
        try:
            await _fill(store, HOSTILE_TEXTS, {})
            found[label] = {}
            for rule in HOSTILE_RULES:
                page = await search_posts(store, rule, zone=ZoneInfo("UTC"), limit=50)
                found[label][rule] = [h.post.message_id for h in page.hits]
        finally:
            await store.close()
    assert found["postgres"] == found["sqlite"]
    assert sum(1 for r in found["sqlite"].values() if r) >= len(HOSTILE_RULES) - 3


def test_without_a_server_the_reason_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg.OWN_SERVER_ENV, raising=False)
    monkeypatch.setattr(pg, "_bin_dir", lambda: None)
    server = pg.start()
    assert server.url is None and "initdb" in server.reason


def test_postgres_migrations_ship_with_the_package() -> None:
    from storage.postgres.db import migrations

    assert migrations()[0][1] == "0001_initial.sql"
    assert Path(storage.__file__).parent.joinpath("postgres", "migrations").is_dir()


async def test_the_adapter_gives_lastrowid_rowcount_and_returned_rows(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        async with store.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO sources (username, added_at) VALUES (?, ?)", ("one_demo", 1)
            )
            first = cur.lastrowid
            cur = await conn.execute(
                "INSERT INTO sources (username, added_at) VALUES (?, ?)", ("two_demo", 1)
            )
            assert first and cur.lastrowid == first + 1
            cur = await conn.execute("UPDATE sources SET active = 0 WHERE added_at = ?", (1,))
            assert cur.rowcount == 2
            cur = await conn.execute(
                "UPDATE sources SET title = ? WHERE username = ? RETURNING id, title",
                ("Один", "one_demo"),
            )
            assert [tuple(r) for r in await cur.fetchall()] == [(first, "Один")]
    finally:
        await store.close()


async def test_posts_stored_before_the_search_columns_are_found_after_migrating(
    pg_url: str,
) -> None:
    # A database at migration 4 (one weighted vector) with a post in it, then migration 5.
    from storage.postgres.db import migrations

    conn = await old_postgres(
        pg_url,
        4,
        [
            "INSERT INTO sources (username, added_at) VALUES ('old_demo', 0)",
            "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas, stored_at)"
            " VALUES (1, 1, 0, 'Старі новини', 'старі новини', 'старий новина', 0)",
        ],
    )
    await conn.close()
    store = await Store.open(pg_url)
    try:
        assert await store.schema_version() == migrations()[-1][0]
        assert [p.message_id for p in await store.search.search(Term("новина"))] == [1]
        assert [p.message_id for p in await store.search.search(Phrase(("старі", "новини")))] == [
            1
        ]
    finally:
        await store.close()


async def test_a_bulk_import_leaves_the_search_index_a_short_pending_list(pg_url: str) -> None:
    """Every search reads a GIN index's whole pending list (entries not merged yet). At the
    default 4 MB limit a bulk import left hundreds of pages there: a rare name's search went
    from 5 ms to 300 ms. The search indexes keep it under 256 kB (32 pages)."""
    store = await Store.open(pg_url)
    try:
        src = await store.sources.ensure("bulk_minister")
        words = [f"слово{n}" for n in range(4000)]
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for base in range(0, 6000, 1000):
            rows = []
            for i in range(base, base + 1000):
                text = " ".join(words[(i * 7 + k * 13) % len(words)] for k in range(40))
                post = Post("bulk_minister", i + 1, start + timedelta(minutes=i), text)
                rows.append((post, text, text))
            await store.posts.insert_many(src.id, rows)
        conn = await asyncpg.connect(pg_url)
        try:
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public")
            except asyncpg.PostgresError as exc:  # a server of one's own, without superuser
                pytest.skip(f"cannot read GIN pages here: {exc}")
            for index in ("post_search_norm", "post_search_lemmas"):
                pending = await conn.fetchval(
                    "SELECT n_pending_pages FROM"
                    " public.gin_metapage_info(public.get_raw_page($1, 0))",
                    index,
                )
                assert pending <= 32, f"{index}: {pending} pending pages"
        finally:
            await conn.close()
    finally:
        await store.close()
