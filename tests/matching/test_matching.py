"""Normalisation, analysis, the indexed matcher, the FTS pre-filter and `wirewatch match`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.desk.fts import rule_to_fts
from bot.matching import (
    Matcher,
    RuleMatch,
    Span,
    analyze,
    index_fields,
    match_rule,
    normalize,
    parse_rule,
)
from bot.matching.lemmas import english_lemmas, stems, text_lang
from storage.records import Post
from storage.store import Store

# ----------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Türkiye", "turkiye"),
        ("Kalın", "kalin"),
        ("İstanbul", "istanbul"),
        ("Straße", "strasse"),
        ("Zbigniew Łukasz Søren", "zbigniew lukasz soren"),
        ("ПАМ’ЯТЬ памʼять пам`ять пам'ять", "пам'ять пам'ять пам'ять пам'ять"),
        ("Зeлeнський", "зеленський"),  # Latin e inside a Cyrillic word
        ("PAKETA", "paketa"),  # all Latin: left as Latin
        ("PAKЕТА", "ракета"),  # mixed: the Latin look-alikes become Cyrillic
        ("Київ, Їжак, йод, ёж", "київ, їжак, йод, ёж"),  # й ї ё never folded
        ("и\u0306од", "йод"),  # a decomposed й composes
        ("за́мок", "замок"),  # stress marks go
        # NFKC folds words (a ligature, a full-width digit); № is no word: a break, not "no".
        ("ﬁnal №５", "final  5"),
    ],
)
def test_normalize(raw: str, want: str) -> None:
    assert normalize(raw) == want


def test_normalize_keeps_punctuation_and_spacing() -> None:
    assert normalize("Умєров: «Обмін — завтра!»") == "умєров: «обмін — завтра!»"


def test_text_lang() -> None:
    assert text_lang("Відбувся обмін полоненими") == "uk"
    assert text_lang("Состоялся обмен пленными, объявил он") == "ru"
    assert text_lang("банк") == "both"


def test_english_lemmas() -> None:
    assert english_lemmas("countries") == ("country",)
    assert english_lemmas("talks") == ("talk",)
    assert english_lemmas("ambassador's") == ("ambassador",)
    assert english_lemmas("crisis") == ("crisis",)
    assert english_lemmas("press") == ("press",)
    assert english_lemmas("met") == ("meet",)
    assert set(english_lemmas("meeting")) == {"meet", "meeting"}


def test_stems_meet_across_spellings_and_alternation() -> None:
    assert stems("умєров") & stems("умерову") & stems("умєровим")
    assert "сибиг" in stems("сибізі")  # г -> з before і


# ----------------------------------------------------------------------------- analyze


def test_spans_point_into_the_original_text() -> None:
    text = "ﬁ Делегацію очолив Умеров, а обмін полоненими — завтра."
    a = analyze(text)
    for tok in a.tokens:
        assert tok.form == normalize(text[tok.start : tok.end])
    m = match_rule(parse_rule("обмін полоненими Умєров"), a, "")
    assert m is not None
    assert [text[s.start : s.end] for s in m.spans] == ["Умеров", "обмін", "полоненими"]
    assert [s.term for s in m.spans] == ["умєров", "обмін", "полоненими"]


def test_every_lemma_not_only_the_first() -> None:
    a = analyze("Зустріч у Києві та Харкові.")
    keys = {t.form: t.keys for t in a.tokens}
    assert {"київ", "кий"} <= keys["києві"]
    assert "харків" in keys["харкові"]


def test_norm_from_analysis_equals_normalize() -> None:
    for text in ("  Хвилина памʼяті, ﬁnal — İstanbul! ", "", "за́мок і Зeлeнський", "ʼслово"):
        assert analyze(text).norm == normalize(text)


def test_index_fields_make_one_fts_token_per_lemma() -> None:
    norm, lemmas = index_fields("Хвилина памʼяті. Умєрова зустріли!")
    assert norm == "хвилина пам'яті. умєрова зустріли!"
    # One word's keys are joined by "|", a sentence break between words is "." (verdict.py).
    assert lemmas.split()[2] == "."
    words = lemmas.replace("|", " ").split()
    assert "память" in words  # the lemma пам'ять without its apostrophe
    assert "~умеров" in words  # the stem key of a name, its marker kept in the stored text
    assert all("'" not in w and "~" not in w[1:] for w in words)
    # ... and FTS5 reads the marker as a separator: the index holds the key without it.
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(lemmas, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    conn.execute("INSERT INTO t (lemmas) VALUES (?)", (lemmas,))
    tokens = {r[0] for r in conn.execute("SELECT term FROM v")}
    assert "умеров" in tokens and not any(set("~|.-") & set(t) for t in tokens)


# ----------------------------------------------------------------------------- matcher


def test_match_report_lists_rules_and_spans() -> None:
    m = Matcher()
    m.add(1, parse_rule("обмін полоненими"))
    m.add(2, parse_rule('"гуманітарний трек" OR "humanitarian track"'))
    m.add(3, parse_rule("Умєров -Туреччина"))
    text = "Умерову доповіли: обміну полонених передував гуманітарний трек."
    got = m.match(text, "some_channel")
    assert [r.rule_id for r in got] == [1, 2, 3]
    start = text.index("гуманітарний")
    assert got[1] == RuleMatch(2, (Span(start, start + 17, "гуманітарний трек"),))
    assert text[start : start + 17] == "гуманітарний трек"


def test_add_remove_replace_and_channel_filter() -> None:
    m = Matcher()
    m.add(1, parse_rule("ракета"))
    m.add(2, parse_rule("ракета"), channel="@Air_Force")
    text = "Збили ракету."
    assert [r.rule_id for r in m.match(text, "air_force")] == [1, 2]
    assert [r.rule_id for r in m.match(text, "other")] == [1]
    m.remove(1)
    assert [r.rule_id for r in m.match(text, "air_force")] == [2]
    m.add(2, parse_rule("дрон"))  # replaced: new query, no channel filter
    assert m.match(text, "air_force") == []
    assert [r.rule_id for r in m.match("Дрони летять.", "x_chan")] == [2]
    m.remove(99)  # unknown ids are ignored
    m.clear()
    assert len(m) == 0
    assert m.match("Дрони летять.", "x_chan") == []


def test_candidates_come_from_the_index_not_a_loop() -> None:
    m = Matcher()
    for i in range(2000):
        m.add(i, parse_rule(f"слово{i} ракета"))
    m.add(5000, parse_rule("from:@air_force"))
    m.add(5001, parse_rule("мобіліз*"))
    m.add(5002, parse_rule("/F-1[56]/"))
    a = analyze("Ракета і слово7 та мобілізація")
    assert m.candidates(a, "air_force") == {7, 5000, 5001, 5002}
    assert [r.rule_id for r in m.match(a, "air_force")] == [7, 5000, 5001]


def test_from_only_rule_matches_every_post_of_the_channel() -> None:
    m = Matcher()
    m.add(1, parse_rule("from:@umerov_rustem"))
    assert m.match("Будь-що.", "umerov_rustem") == [RuleMatch(1, ())]
    assert m.match("Будь-що.", "someone_else") == []


def test_regex_spans_are_in_the_original_text() -> None:
    text = "Передали f-16 і F-15."
    got = match_rule(parse_rule("/F-1[56]/"), text, "")
    assert got is not None
    assert [text[s.start : s.end] for s in got.spans] == ["f-16", "F-15"]


# ----------------------------------------------------------------------------- FTS


POSTS = [
    "Відбувся обмін полоненими на кордоні.",
    "Після обміну полонених родини зустрілися.",
    "Делегацію очолив Умеров, переговори тривали.",
    "Умєров прибув до Туреччини.",
    "Обговорили гуманітарний трек.",
    "Progress on the humanitarian tracks.",
    "Хвилина памʼяті о девʼятій.",
    "Посолити суп треба вчасно.",
    "Посла викликали до міністерства.",
    "Мобілізація триває.",
]

FTS_RULES = [
    "обмін полоненими",
    "Умєров",
    "Умєров -Туреччина",
    '"гуманітарний трек" OR "humanitarian track"',
    "пам'ять",
    "посол",
    "=полонених",
    "мобіліз*",
    "=пам'яті",
]


async def test_fts_prefilter_finds_everything_the_matcher_does(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "fts.db")
    try:
        src = await store.sources.ensure("fts_channel")
        base = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        for i, text in enumerate(POSTS, start=1):
            post = Post("fts_channel", i, base + timedelta(minutes=i), text)
            norm, lemmas = index_fields(text)
            await store.posts.insert(src.id, post, norm, lemmas)
        for rule in FTS_RULES:
            node = parse_rule(rule)
            want = {i for i, t in enumerate(POSTS, start=1) if match_rule(node, t, "fts_channel")}
            fts = rule_to_fts(node)
            assert fts is not None, rule
            found = await store.search.search(fts, limit=100)
            got = {p.message_id for p in found}
            assert want <= got, rule  # a superset: nothing the matcher finds is lost
            verified = {p.message_id for p in found if match_rule(node, p.text, p.channel)}
            assert verified == want, rule
            assert want, rule  # every rule here finds something
    finally:
        await store.close()


def test_rule_to_fts_is_none_when_fts_cannot_narrow() -> None:
    assert rule_to_fts(parse_rule("/F-16/")) is None
    assert rule_to_fts(parse_rule("from:@air_force")) is None
    assert rule_to_fts(parse_rule("ракета OR /F-16/")) is None
    assert rule_to_fts(parse_rule("ракета /F-16/")) is not None


# ----------------------------------------------------------------------------- CLI


def test_cli_text_match(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["match", "обмін полоненими", "--text", "Обміну полонених не буде."])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "match"
    assert "0-6  'Обміну'  (обмін)" in out[1]


def test_cli_json_and_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "Умєров", "--text", "Передали Умерову.", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["matched"] is True
    assert data["spans"] == [{"start": 9, "end": 16, "text": "Умерову", "term": "умєров"}]
    assert main(["match", "посол", "--text", "Посолити суп.", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["matched"] is False


def test_cli_bad_rule_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "обмін полоненими (Умєров", "--text", "x"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "wirewatch: bad rule: unbalanced parenthesis at character 17"


async def _seed(path: Path) -> None:
    store = await Store.open(path)
    try:
        src = await store.sources.ensure("cli_channel")
        base = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        for i, text in enumerate(POSTS, start=1):
            post = Post("cli_channel", i, base + timedelta(minutes=i), text)
            await store.posts.insert(src.id, post, *index_fields(text))
    finally:
        await store.close()


def test_cli_against_stored_posts_newest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    db = tmp_path / "cli.db"
    asyncio.run(_seed(db))
    assert main(["match", "обмін полоненими", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("https://t.me/cli_channel/2 ")
    assert "[обміну] [полонених]" in out[0]
    assert out[1].startswith("https://t.me/cli_channel/1 ")
    assert out[-1] == f"2 of {len(POSTS)} newest posts match обмін полоненими"
    assert main(["match", "Умєров", "--db", str(db), "--json", "--limit", "8"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tried"] == 8
    assert [p["permalink"] for p in data["posts"]] == [
        "https://t.me/cli_channel/4",
        "https://t.me/cli_channel/3",
    ]


def test_cli_stored_posts_are_dated_in_the_newsrooms_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `search` printed Kyiv time and `match` UTC for the same post, both unlabelled.
    import asyncio

    db = tmp_path / "cli.db"
    asyncio.run(_seed(db))
    monkeypatch.setenv("WIREWATCH_TZ", "Europe/Kyiv")
    assert main(["match", "обмін полоненими", "--db", str(db)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("https://t.me/cli_channel/2  2026-11-20 10:02  ")


def test_cli_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "обмін", "--db", str(tmp_path / "none.db")]) == 2
    assert "no database at" in capsys.readouterr().err
