"""Search decides rules from what is stored with each post (its keys, stem marks kept, word by
word with the sentence breaks; its normalised text) instead of re-reading each candidate: the
pages, the spans and the "in the picture" flags must be exactly what re-reading every
candidate gives, including where FTS5 alone says more (й folded into и, a stem and a lemma
spelled alike, a phrase's words apart, a prefix cut to four characters)."""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.desk.search as search_mod
import bot.matching.verdict as verdict_mod
import storage.search as storage_search
from bot.desk.search import SearchPage, search_posts
from bot.matching import analyze, match_rule, parse_rule
from bot.matching.verdict import StoredText, _word_at, stored_verdict
from storage.records import Post
from storage.store import Store

KYIV = ZoneInfo("Europe/Kyiv")
WORDS = [
    "мій", "мии", "Умєров", "Умерова", "умер", "обмін", "обміну", "полонених", "полоненими",
    "санкції", "Київ", "Києві", "кий", "переговори", "NATO", "talks", "meeting", "met",
    "Коваленко", "Коваленку", "ковалі", "дрон", "Дронову", "обмінний", "полонений.",
    "мʼясо", "м'ясний", "обмін,", "обмін;", "обмін.\n", "Пол\u00adонених", "№5", "кий…",
    "полоніть", "Йоркові", "Полтава", "e\u0301nergy", "ʼʼполон", "по'лон", "ПОЛОНЕНИХ",
    "💪🏻Дрон", "обмін🤝", "🫡Києві", "F-16", "5-й", "x:мій", "ᦰᦱ",
]  # fmt: skip
QUERIES = [
    "мій", "Умєров", "умер", "обмін полоненими", "санкції OR переговори", "Київ -кий",
    "talks", "meet", "Коваленко", "дрон", "from:chan_two полонених",
    "(мій OR Умєров) -санкції", "NATO", '"обмін полоненими"', "полон*", "=Києві",
    '"обмін полонених"', '"полонених обмін"', "поло*", "=обмін", "мʼяс*", "=мʼясо", "полт*",
    '"Умєров NATO" OR кий*', '"Києві мій" -полон*', "йорк*", "energ*", "лон*", "no5",
    "=дрон", "дро*", "=обмін", '"обмін Києві"', "F-16", '"5-й"', "x:мій", '"ᦰᦱ мій" OR дрон',
]  # fmt: skip


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))) + "."


async def _archive(store: Store, rng: random.Random, n: int) -> None:
    one = await store.sources.ensure("chan_one")
    two = await store.sources.ensure("chan_two")
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        src = one if rng.random() < 0.6 else two
        text = _text(rng)
        a = analyze(text)
        pid = await store.posts.insert(
            src.id,
            Post(channel=src.username, message_id=i, date=start + timedelta(minutes=i), text=text),
            a.norm,
            a.lemma_text,
        )
        if rng.random() < 0.2:
            ocr = _text(rng)
            o = analyze(ocr)
            await store.posts.set_ocr(pid, ocr, o.norm, o.lemma_text)


def _shape(page: SearchPage) -> list[tuple[int, bool, tuple[tuple[int, int, str], ...]]]:
    return [
        (h.post.id, h.in_image, tuple((s.start, s.end, s.term) for s in h.spans))
        for h in page.hits
    ]


async def test_stored_keys_give_the_pages_rereading_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, random.Random(8), 400)
        # The reference beneath both: every post the matcher finds in its text or its picture's,
        # newest first, with no index at all (FTS5 only ever narrows, it must lose none).
        posts = await store.db.fetchall(
            "SELECT p.id, p.text, p.ocr_text, s.username FROM posts p"
            " JOIN sources s ON s.id = p.source_id ORDER BY p.date DESC, p.id DESC"
        )
        found = 0
        for query in QUERIES:
            node = parse_rule(query)
            every = [
                int(pid)
                for pid, text, ocr, channel in posts
                if match_rule(node, text, channel) or (ocr and match_rule(node, ocr, channel))
            ]
            for size in (3, 20):
                pages: dict[bool, list[object]] = {}
                for stored in (True, False):
                    monkeypatch.setattr(search_mod, "STORED_VERDICT", stored)
                    monkeypatch.setattr(storage_search, "NARROW_PREFIXES", stored)
                    out: list[object] = []
                    before = None
                    while True:
                        page = await search_posts(
                            store, query, zone=KYIV, limit=size, before=before
                        )
                        out.append((_shape(page), page.cursor))
                        if page.cursor is None:
                            break
                        before = page.cursor
                    pages[stored] = out
                assert pages[True] == pages[False], (query, size)
                ids = [hit[0] for shape, _ in pages[True] for hit in shape]  # type: ignore[misc]
                assert ids == every, (query, size)
                found += bool(pages[True][0][0])  # type: ignore[index]
        assert found >= 2 * len(QUERIES) - 6  # nearly every query finds posts
    finally:
        await store.close()


def test_stored_verdict_never_contradicts_the_matcher() -> None:
    rng = random.Random(2)
    nodes = [parse_rule(q) for q in QUERIES]
    decided = 0
    for _ in range(600):
        text = _text(rng)
        a = analyze(text)
        stored = StoredText(text, a.norm, a.lemma_text, by_word=True)
        for node in nodes:
            for channel in ("chan_one", "chan_two"):
                verdict = stored_verdict(node, stored, channel)
                if verdict is not None:
                    decided += 1
                    assert verdict == (match_rule(node, text, channel) is not None), (node, text)
    assert decided > 30_000  # most rules here are decided without the text


async def test_posts_stored_before_the_mark_are_reread(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        src = await store.sources.ensure("chan_one")
        # Stored the old way: stem keys without their marks ("умеров" could be a lemma).
        await store.posts.insert(
            src.id,
            Post(
                channel="chan_one",
                message_id=1,
                date=datetime(2025, 1, 1, tzinfo=UTC),
                text="Зустріли Умєрова.",
            ),
            "зустріли умєрова.",
            "зустріти умеров умерова",
        )
        await store.db.execute("UPDATE state SET value = '2' WHERE key = 'exact_keys_from'")
        store.search._marks_found = None
        page = await search_posts(store, "Умєров", zone=KYIV)
        assert [h.post.message_id for h in page.hits] == [1]
        hit = page.hits[0]
        assert [hit.post.text[s.start : s.end] for s in hit.spans] == ["Умєрова"]
    finally:
        await store.close()


_SOUP = (
    list("абвгґдеєжзиіїйклмнопрстуфхцчшщьюяёыэъАБВГЄІЇЙ")
    + list("abcdefghijklmnopKNOT0123456789")
    + ["'", "’", "ʼ", "`", "‘", "ʹ", "′", "ʼʼ", "''"]
    + [" ", " ", " ", ". ", "! ", "? ", "; ", "…", "… ", "\n", ".", ",", "-", "_", "«", "»"]
    + ["\u00ad", "\u200b", "\u0301", "\u0306", "№", "½", "㎏", "\u00a0", "ѐ", "ß", "İ", "é"]
)


# Only what the stored norm is trusted with (bot/matching/verdict.py): the texts whose prefixes
# and exact forms are decided without the text, apostrophes and breaks included.
_PLAIN_SOUP = [c for c in _SOUP if not set(c) & set("ʹ′\u00ad\u200b\u0301\u0306№½㎏ßİé")]


@pytest.mark.parametrize("soup", [_SOUP, _PLAIN_SOUP], ids=["any", "plain"])
def test_stored_verdict_agrees_on_any_characters(soup: list[str]) -> None:
    """Texts of random characters, the tricky ones included (apostrophes of every kind, soft
    hyphens, combining accents, № and ½ that NFKC expands, breaks): whatever the stored keys
    and norm decide, the matcher decides the same."""
    rng = random.Random(31)
    decided = 0
    for _ in range(1500):
        text = "".join(rng.choice(soup) for _ in range(rng.randint(5, 60)))
        a = analyze(text)
        stored = StoredText(text, a.norm, a.lemma_text, by_word=True)
        forms = [f for f in a.forms if f]
        queries = ["абв*", "=а", '"а б"']
        for f in rng.sample(forms, min(3, len(forms))):
            queries += ["=" + f, f[: rng.randint(3, max(3, len(f)))] + "*", f]
        if len(forms) >= 2:
            i = rng.randrange(len(forms) - 1)
            queries.append(f'"{forms[i]} {forms[i + 1]}"')
        for q in queries:
            try:
                node = parse_rule(q)
            except Exception:
                continue
            verdict = stored_verdict(node, stored, "chan_one")
            if verdict is not None:
                decided += 1
                assert verdict == (match_rule(node, text, "chan_one") is not None), (q, text)
    assert decided > 2000


async def test_phrases_and_prefixes_are_decided_without_rereading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of phrase or prefix hits reads no post's text again (0.1-0.2 ms each): the stored
    keys and norm decide; the words are located only when a hit's spans are asked for."""
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, random.Random(5), 300)
        reread: list[str] = []
        real = search_mod.match_rule

        def counting(node: object, text: str, channel: str) -> object:
            reread.append(text)
            return real(node, text, channel)  # type: ignore[arg-type]

        monkeypatch.setattr(search_mod, "match_rule", counting)
        for query in ('"обмін полоненими"', "полон*", "=обмін", '"Умєров NATO" OR кий*'):
            page = await search_posts(store, query, zone=KYIV, limit=10)
            assert page.hits, query
            # Only texts with a normalisation surprise (№, a soft hyphen, an accent) are re-read.
            plain = [t for t in reread if StoredText(t, analyze(t).norm, "", by_word=True).simple]
            assert plain == [], query
            assert all(h.spans for h in page.hits)  # located on demand, as before
            reread.clear()
    finally:
        await store.close()


async def test_posts_stored_before_the_word_mark_are_reread_for_phrases(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        src = await store.sources.ensure("chan_one")
        # Stored the way of migration 0009: keys with stem marks, but one list for all words,
        # so "обмін. Полонених" looks like the phrase "обмін полонених" word by word.
        await store.posts.insert(
            src.id,
            Post(
                channel="chan_one",
                message_id=1,
                date=datetime(2025, 1, 1, tzinfo=UTC),
                text="Обмін. Полонених",
            ),
            "обмін. полонених",
            "обмін полонений",
        )
        # And a norm an older normalisation wrote ("полонєних" for a word now read полонених):
        # the text decides, not the stored norm.
        await store.posts.insert(
            src.id,
            Post(
                channel="chan_one",
                message_id=2,
                date=datetime(2025, 1, 2, tzinfo=UTC),
                text="Полонених обміняли",
            ),
            "полонєних обміняли",
            "полонений обміняти",
        )
        await store.db.execute("UPDATE state SET value = '3' WHERE key = 'word_keys_from'")
        store.search._marks_found = None
        assert (await search_posts(store, '"обмін полонених"', zone=KYIV)).hits == []
        assert len((await search_posts(store, "обмін полонених", zone=KYIV)).hits) == 1
        found = await search_posts(store, "полоне*", zone=KYIV)
        assert [h.post.message_id for h in found.hits] == [2, 1]
    finally:
        await store.close()


def test_word_at_finds_what_the_word_boundary_regex_finds() -> None:
    """`_word_at` (str.find and the characters around) against the regex it replaced: a word
    of norm starts where a word character follows neither a word character nor a word
    character and an apostrophe, and ends likewise."""
    word, start = r"[^\W_]", r"(?<![^\W_])(?<![^\W_]')"
    end = r"(?![^\W_])(?!'[^\W_])"
    rng = random.Random(17)
    chars = [*"аб'' _.1їй", "ʼ", "\u0301", "²", "Ⅻ", "-"]
    found = {True: 0, False: 0}
    for _ in range(20_000):
        norm = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
        piece = "".join(rng.choice("аб1їй") for _ in range(rng.randint(1, 3)))
        assert re.fullmatch(word + "+", piece)
        for whole in (False, True):
            pattern = start + re.escape(piece) + (end if whole else "")
            expected = re.search(pattern, norm) is not None
            assert _word_at(norm, piece, whole=whole) == expected, (norm, piece, whole)
            found[whole] += expected
    assert min(found.values()) > 300


async def test_the_walk_never_asks_the_dictionaries_in_the_database_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk tests hits in the database thread with the rule compiled beforehand
    (compile_verdict): every word's keys, those under NOT included, are looked up in the
    event loop's thread, where the dictionaries' caches are filled."""
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, random.Random(3), 120)
        threads: list[int] = []
        real = verdict_mod.rule_keys

        def recording(form: str) -> frozenset[str]:
            threads.append(threading.get_ident())
            return real(form)

        monkeypatch.setattr(verdict_mod, "rule_keys", recording)
        for query in ("обмін -санкції", '"обмін полоненими" OR (мій -кий)', "дрон"):
            page = await search_posts(store, query, zone=KYIV, limit=5)
            assert page.hits, query
        assert threads and set(threads) == {threading.get_ident()}
    finally:
        await store.close()


@pytest.mark.parametrize("stored", [True, False], ids=["stored keys", "re-read"])
async def test_a_page_cut_by_the_scan_budget_resumes_where_the_scan_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    """A page whose candidates are turned down stops after SCAN_LIMIT of them with a cursor at
    the scan position; paging on from it gives every hit, in order, exactly once."""
    store = await Store.open(tmp_path / "w.db")
    try:
        await _archive(store, random.Random(6), 300)
        monkeypatch.setattr(search_mod, "STORED_VERDICT", stored)
        cut = 0
        for query in ('"обмін полоненими"', "from:chan_two полонених", "дрон"):
            runs: list[list[int]] = []
            for scan_limit in (100_000, 5):
                monkeypatch.setattr(search_mod, "SCAN_LIMIT", scan_limit)
                ids: list[int] = []
                before = None
                while True:
                    page = await search_posts(store, query, zone=KYIV, limit=8, before=before)
                    ids += [h.post.id for h in page.hits]
                    if page.cursor is None:
                        break
                    cut += len(page.hits) < 8
                    before = page.cursor
                runs.append(ids)
            assert runs[0] and runs[1] == runs[0], query
        # The budget did cut pages short (the walk's own test sifts hits in the database
        # thread, so there the candidates are hits already).
        assert cut or stored
    finally:
        await store.close()


async def test_an_alternative_of_words_sqlite_cannot_index_leaves_the_others(
    tmp_path: Path,
) -> None:
    """New Tai Lue vowels are letters to Python (a rule word) and separators to SQLite's
    unicode61 (no token): a phrase or AND of such words matches nothing in FTS5, and the OR's
    other branch still finds its posts (an empty FTS query for the whole OR lost them)."""
    store = await Store.open(tmp_path / "w.db")
    try:
        src = await store.sources.ensure("chan_one")
        text = "Обмін полоненими відбувся."
        a = analyze(text)
        await store.posts.insert(
            src.id,
            Post("chan_one", 1, datetime(2025, 1, 1, tzinfo=UTC), text),
            a.norm,
            a.lemma_text,
        )
        for query in ('"ᦰᦱ ᦲ" OR обмін', "(ᦰᦱ ᦲ) OR обмін", "обмін OR ᦰᦱ"):
            page = await search_posts(store, query, zone=KYIV)
            assert [h.post.message_id for h in page.hits] == [1], query
    finally:
        await store.close()
