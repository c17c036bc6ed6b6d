"""Search as an editor types it: the grammar's traps (a query that can never match, or means
something else than it says) get the posts meant or a clear answer, never a silent "nothing".
Texts written for these tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.desk.search as search_mod
from bot.cli.archive import search_argv
from bot.cli.main import main
from bot.desk.search import (
    ALL_WORDS,
    BAD_DATE,
    DATE_WORD,
    FUTURE_SINCE,
    LOWERCASE_OR,
    OTHER_SPELLINGS,
    PHRASE,
    QueryError,
    parse_date,
    search_hints,
    search_posts,
    spelling_hints,
)
from bot.drafting.glossary import Glossary, dump_glossary, make_entry
from bot.i18n import Message
from bot.ingest.pipeline import Pipeline
from bot.matching import RuleSyntaxError, match_rule, parse_rule
from bot.matching.rules import And, FromSource, Not, Or, Word
from storage.records import Post
from storage.store import Store
from tests.handlers.harness import JOURNALIST, running_desk

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2025, 11, 1, 9, tzinfo=UTC)
POSTS = [
    ("mod_press", "Міністр оборони Рустем Умєров провів переговори в Женеві."),
    ("mod_press", "Умєрову доповіли про обмін полоненими та підготовку наступного."),
    ("polon_hq", "Відбувся обмін полоненими: повернулися 84 захисники."),
    ("polon_hq", "Координаційний штаб подякував Умєрову за роботу."),
    ("energy_min", "Графіки відключень світла діятимуть і завтра."),
    ("energy_min", "Обмін досвідом з енергетиками Польщі: ремонт підстанцій."),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    st = await Store.open(tmp_path / "s.db")
    pipeline = Pipeline(st, alert=False)
    for i, (channel, text) in enumerate(POSTS, start=1):
        await st.sources.ensure(channel)
        await pipeline.handle(
            Post(channel=channel, message_id=i, date=START + timedelta(days=i), text=text)
        )
    try:
        yield st
    finally:
        await st.close()


async def _found(store: Store, query: str, **kw: object) -> list[str]:
    page = await search_posts(store, query, zone=KYIV, limit=50, **kw)  # type: ignore[arg-type]
    return [h.post.text for h in page.hits]


async def _cli(argv: list[str]) -> int:
    """`wirewatch ...` as typed; its own event loop, in a thread of its own."""
    return await asyncio.to_thread(main, argv)


def _texts(*channels: str, word: str = "") -> list[str]:
    """The test posts of these channels (holding `word`, case aside), newest first."""
    return [t for c, t in reversed(POSTS) if c in channels and word.casefold() in t.casefold()]


def test_repeated_from_is_read_as_either_channel() -> None:
    """A post has one channel: `from:@a from:@b` as AND can never match. It means either."""
    node = parse_rule("from:@mod_press from:@polon_hq обмін")
    assert node == And((Or((FromSource("mod_press"), FromSource("polon_hq"))), Word("обмін")))
    assert match_rule(node, "обмін полоненими", "polon_hq") is not None
    assert match_rule(node, "обмін полоненими", "energy_min") is None
    # In any of the three alphabets, and a channel excluded stays excluded.
    node = parse_rule("від:@mod_press от:@polon_hq -from:@energy_min")
    assert node == And(
        (
            Or((FromSource("mod_press"), FromSource("polon_hq"))),
            Not(FromSource("energy_min")),
        )
    )


async def test_search_from_two_channels_finds_the_posts_of_both(store: Store) -> None:
    assert await _found(store, "from:@mod_press from:@polon_hq") == _texts("mod_press", "polon_hq")
    assert await _found(store, "обмін від:@mod_press від:@polon_hq") == _texts(
        "mod_press", "polon_hq", word="обмін"
    )


async def test_search_without_a_channel_finds_the_others(store: Store) -> None:
    """`-from:@a` read the channel as the one to search (rule_sources looked under the NOT),
    so `обмін -from:@a` found nothing at all."""
    assert await _found(store, "обмін -from:@energy_min") == _texts(
        "mod_press", "polon_hq", word="обмін"
    )
    assert await _found(store, "обмін -from:@polon_hq -from:@energy_min") == _texts(
        "mod_press", word="обмін"
    )


async def test_an_unknown_channel_among_several_is_named(store: Store) -> None:
    with pytest.raises(QueryError) as exc:
        await _found(store, "from:@mod_press from:@no_such_chan")
    assert "no_such_chan" in str(exc.value)


async def test_a_query_that_only_excludes_lists_the_rest(store: Store) -> None:
    """Search lists posts without a query (filters alone); a query that only leaves out means
    "everything but", newest first: not a refusal that speaks of rules."""
    assert await _found(store, "-from:@energy_min") == _texts("mod_press", "polon_hq")
    # Posts 4 to 6 are dated 5 to 7 November; the sixth speaks of an exchange.
    assert await _found(store, "-обмін since:2025-11-05") == [POSTS[4][1], POSTS[3][1]]
    # A rule still must look for something: it watches every new post.
    with pytest.raises(RuleSyntaxError):
        parse_rule("-обмін")


async def test_a_long_hit_is_decided_from_its_stored_keys_on_both_back_ends(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose hit is a register pasted into a feed (a post past 128 kB: PostgreSQL keeps
    no word positions for it) is decided from the post's stored keys, never by re-reading its
    text: on PostgreSQL, which had no stored-keys marks, every hit was re-read (a 1 MB post:
    200 ms warm, bench/postgres.py --long-post). Counted, not timed: the matcher's runs."""
    store = await Store.open(db_target)
    try:
        await store.sources.ensure("law_feed")
        pipeline = Pipeline(store, alert=False)
        clause = "Пункт {n}: ліцензіат подає звіт до граничного строку, визначеного постановою. "
        register = "".join(clause.format(n=n) for n in range(1, 1800))
        assert len(register) > 128 * 1024
        texts = [
            "Кабінет міністрів ухвалив постанову про бюджет.",
            register + "Додаток містить перелік ліцензіатів та їхні реквізити.",
            "Граничний строк подання звітів перенесено.",
            "Звіт про виконання бюджету оприлюднено.",
        ]
        for i, text in enumerate(texts, start=1):
            await pipeline.handle(
                Post(channel="law_feed", message_id=i, date=START + timedelta(hours=i), text=text)
            )
        reread: list[int] = []
        real = search_mod.match_rule

        def counted(*args: object, **kw: object) -> object:
            reread.append(1)
            return real(*args, **kw)  # type: ignore[arg-type]

        queries = [
            "ліцензіатів", '"перелік ліцензіатів"', "реквізити перелік", "ліцензіат*",
            '"граничного строку"', "звіт -бюджет", "=реквізити",
        ]  # fmt: skip
        for query in queries:
            monkeypatch.setattr(search_mod, "STORED_VERDICT", False)
            reference = await search_posts(store, query, zone=KYIV, limit=3)
            monkeypatch.setattr(search_mod, "STORED_VERDICT", True)
            monkeypatch.setattr(search_mod, "match_rule", counted)
            page = await search_posts(store, query, zone=KYIV, limit=3)
            monkeypatch.setattr(search_mod, "match_rule", real)
            assert [h.post.id for h in page.hits] == [h.post.id for h in reference.hits], query
            assert any(len(h.post.text) > 128 * 1024 for h in page.hits), query
            assert reread == [], query
            # Its words are located when the page shows it, and they are the reference's.
            assert [h.spans for h in page.hits] == [h.spans for h in reference.hits], query
    finally:
        await store.close()


NOW = datetime(2026, 1, 5, 15, 30, tzinfo=KYIV)


@pytest.mark.parametrize(
    ("value", "since", "until"),
    [
        ("вчора", datetime(2026, 1, 4, tzinfo=KYIV), datetime(2026, 1, 5, tzinfo=KYIV)),
        ("Yesterday", datetime(2026, 1, 4, tzinfo=KYIV), datetime(2026, 1, 5, tzinfo=KYIV)),
        ("сегодня", datetime(2026, 1, 5, tzinfo=KYIV), datetime(2026, 1, 6, tzinfo=KYIV)),
        ("01.11.2025", datetime(2025, 11, 1, tzinfo=KYIV), datetime(2025, 11, 2, tzinfo=KYIV)),
        # Without a year: the latest such day up to today (in January, last November).
        ("1.11", datetime(2025, 11, 1, tzinfo=KYIV), datetime(2025, 11, 2, tzinfo=KYIV)),
        ("2025-11-01", datetime(2025, 11, 1, tzinfo=KYIV), datetime(2025, 11, 2, tzinfo=KYIV)),
        # A span back from now: the moment, not a day.
        ("7d", NOW - timedelta(days=7), NOW - timedelta(days=7)),
        ("2тиж", NOW - timedelta(days=14), NOW - timedelta(days=14)),
        ("12год", NOW - timedelta(hours=12), NOW - timedelta(hours=12)),
    ],
)
def test_dates_as_editors_write_them(value: str, since: datetime, until: datetime) -> None:
    assert parse_date(value, KYIV, now=NOW) == since
    assert parse_date(value, KYIV, end=True, now=NOW) == until


@pytest.mark.parametrize(
    ("value", "now", "since"),
    [
        # ISO's basic form, which since: took before the dates in words came.
        ("20251101", NOW, datetime(2025, 11, 1, tzinfo=KYIV)),
        # The archive is years deep: a span back is not a mute, a year is no limit for it.
        ("400d", NOW, NOW - timedelta(days=400)),
        ("60w", NOW, NOW - timedelta(weeks=60)),
        # 29.02 typed in a year without one: the latest 29 February up to today.
        ("29.02", datetime(2026, 3, 1, 9, tzinfo=KYIV), datetime(2024, 2, 29, tzinfo=KYIV)),
        ("29.02", datetime(2028, 3, 1, 9, tzinfo=KYIV), datetime(2028, 2, 29, tzinfo=KYIV)),
    ],
)
def test_dates_beyond_the_common_ones(value: str, now: datetime, since: datetime) -> None:
    assert parse_date(value, KYIV, now=now) == since


@pytest.mark.parametrize(
    "value", ["вчорашній", "32.01.2025", "31.02", "7", "7x", "-7d", "", "9999w" * 12]
)
def test_a_date_we_cannot_read_says_what_we_can(value: str) -> None:
    with pytest.raises(QueryError) as exc:
        parse_date(value, KYIV, now=NOW)
    assert exc.value.msg.msgid == BAD_DATE


async def test_search_since_a_span_back_from_now(store: Store) -> None:
    now = datetime.now(UTC)
    # 60 hours ago: within the last three days, before the day before today began.
    await Pipeline(store, alert=False).handle(
        Post(channel="polon_hq", message_id=99, date=now - timedelta(hours=60), text="Обмін.")
    )
    assert await _found(store, "обмін з:3д") == ["Обмін."]
    assert await _found(store, "обмін since:yesterday") == []
    older = _texts("mod_press", "polon_hq", "energy_min", word="обмін")
    assert await _found(store, "обмін до:2д") == ["Обмін.", *older]
    assert await _found(store, "обмін з:3д до:2д") == ["Обмін."]


@pytest.mark.parametrize(
    ("query", "hints"),
    [
        ("обмін", []),
        ("обмін вчора", [(DATE_WORD, {"word": "вчора"})]),
        ("Yesterday", [(DATE_WORD, {"word": "yesterday"})]),
        # One hint that says which word, not also that all five must be there.
        ("обмін полоненими з 1 листопада", [(DATE_WORD, {"word": "листопада"})]),
        ("обмін since:2999-01-01", [(FUTURE_SINCE, {"since": "2999-01-01"})]),
        ("Умєров переговори Женева оборона", [(ALL_WORDS, {"n": 4})]),
        ('"Умєров переговори Женева"', [(PHRASE, {"phrase": "Умєров переговори Женева"})]),
        ("Івано-Франківськ", []),  # a phrase by its hyphen, not typed as one
        ("Умєров OR переговори OR Женева", []),
        ("обмін або переговори", [(LOWERCASE_OR, {"word": "або", "upper": "АБО"})]),
        ("(обмін", []),  # an error says what is wrong; no hint to add
    ],
)
def test_hints_for_a_search_that_found_nothing(
    query: str, hints: list[tuple[str, dict[str, object]]]
) -> None:
    assert [(h.msgid, h.params) for h in search_hints(query, KYIV)] == hints


async def test_the_cli_takes_a_query_that_starts_by_leaving_out(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """`wirewatch search -from:@a`: argparse took the query for an unknown option and said a
    query was required; unquoted words were "unrecognized arguments"."""
    db = str(store.db.path)  # type: ignore[attr-defined]
    assert await _cli(["search", "-from:@mod_press", "--db", db, "--limit", "9"]) == 0
    out = capsys.readouterr().out
    assert "@mod_press" not in out and out.count("@polon_hq") == 2
    assert await _cli(["search", "--lim=9", "обмін", "-from:@mod_press", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "@mod_press" not in out and "@polon_hq" in out and "@energy_min" in out
    assert await _cli(["search", "Умєров", "from:@polon_hq", "--json", "--db", db]) == 0
    assert '"message_id": 4' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Умєрову", "Міністр Рустем Умєров прибув."),
        ("Умєровим", "Міністр Рустем Умєров прибув."),
        ("Умєровою", "Ольга Умєрова прибула."),
        ("Умеровым", "Министр Рустем Умеров прибыл."),
        ("Лаврову", "Сергій Лавров заявив."),
        ("Путіним", "Переговори з Путіном."),
        ("Путіним", "Путін заявив."),
    ],
)
def test_a_surname_copied_in_an_oblique_case_finds_its_nominative(query: str, text: str) -> None:
    """An editor copies "Умєрову" from a post and searches it: the nominative, Умєров, was not
    found (a rule word was stemmed by nominative endings only), though "Умєрова" found all."""
    assert match_rule(parse_rule(query), text, "any") is not None


@pytest.mark.parametrize(
    ("query", "text"), [("Умєрову", "Він умер."), ("Умєрову", "Умерла."), ("Путіним", "Пута.")]
)
def test_an_oblique_surname_stays_a_surname(query: str, text: str) -> None:
    assert match_rule(parse_rule(query), text, "any") is None


async def test_search_a_surname_as_copied_from_a_post(store: Store) -> None:
    assert await _found(store, "Умєрову") == await _found(store, "Умєров")
    assert len(await _found(store, "Умєрову")) == 3


GLOSSARY = Glossary(
    [
        make_entry(
            "person", {"uk": "Рустем Умєров", "en": "Rustem Umerov", "ru": "Рустем Умеров"}
        ),
        make_entry("institution", {"uk": "МАГАТЕ", "en": "IAEA", "ru": "МАГАТЭ"}),
    ]
)


@pytest.mark.parametrize(
    ("query", "others", "suggested"),
    [
        # Word forms and the Russian spelling are found already: only the Latin one is named.
        ("Умєров", "Umerov", "Умєров OR Umerov"),
        ("Умерову", "Umerov", "Умерову OR Umerov"),
        ("Umerov", "Умєров", "Umerov OR Умєров"),
        ("Умєров since:2025-01-01", "Umerov", "Умєров OR Umerov"),
        ("Умєров переговори", "Umerov", "(умєров OR Umerov)"),
        ("МАГАТЕ", "IAEA, МАГАТЭ", "МАГАТЕ OR IAEA OR МАГАТЭ"),
    ],
)
def test_a_name_the_glossary_spells_otherwise_is_named(
    query: str, others: str, suggested: str
) -> None:
    (hint,) = spelling_hints(query, GLOSSARY, "en")
    assert hint.msgid == OTHER_SPELLINGS
    assert hint.params["others"] == others and hint.params["query"] == suggested


@pytest.mark.parametrize("query", ["Умєров OR Umerov", "обмін", "-Умєров since:2025-01-01", "("])
def test_no_spelling_hint_when_every_spelling_is_searched(query: str) -> None:
    assert spelling_hints(query, GLOSSARY, "en") == []


async def test_the_cli_names_the_other_spelling(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    glossary = tmp_path / "glossary.toml"
    glossary.write_text(dump_glossary(GLOSSARY), encoding="utf-8")
    monkeypatch.setenv("WIREWATCH_DRAFTS__GLOSSARY", str(glossary))
    db = str(store.db.path)  # type: ignore[attr-defined]
    assert await _cli(["search", "Умєров", "--db", db]) == 0
    out = capsys.readouterr().out
    assert (
        out.count("@mod_press") == 2
        and "hint: "
        + str(
            Message(
                OTHER_SPELLINGS,
                {"name": "Rustem Umerov", "others": "Umerov", "query": "Умєров OR Umerov"},
            )
        )
        in out
    )


@pytest.mark.parametrize("lang", ["uk", "en", "ru"])
async def test_search_in_the_bot_names_the_other_spelling(tmp_path: Path, lang: str) -> None:
    (tmp_path / "glossary.toml").write_text(dump_glossary(GLOSSARY), encoding="utf-8")
    async with running_desk(tmp_path, lang=lang) as desk:
        (r,) = await desk.ask(JOURNALIST, "/search Умєров")
        name = GLOSSARY.entries[0].name_in(lang)
        either = {"uk": "АБО", "en": "OR", "ru": "ИЛИ"}[lang]
        said = {"name": name, "others": "Umerov", "query": f"Умєров {either} Umerov"}
        assert desk.t("No posts found.") in (r.text or "")
        assert desk.t(OTHER_SPELLINGS, **said) in (r.text or "")


def test_a_glossary_name_with_a_quote_or_no_letters_breaks_no_search() -> None:
    odd = Glossary(
        [
            make_entry("person", {"uk": 'Іван "Кіт" Умєров', "en": 'Ivan "Kit" Umerov'}),
            make_entry("institution", {"uk": "ЗСУ", "en": "AFU"}),
        ]
    )
    for query in ("Умєров", "ЗСУ", '"Кіт"'):
        spelling_hints(query, odd, "uk")  # no exception: the page is drawn
    (hint,) = spelling_hints("ЗСУ", odd, "uk")
    assert hint.params["others"] == "AFU"


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["search", "-from:@a"], ["search", "--", "-from:@a"]),
        (
            ["--db", "d", "search", "-x", "--lim", "3"],
            ["--db", "d", "search", "--lim", "3", "--", "-x"],
        ),
        (
            ["-v", "--db=d", "search", "обмін", "полоненими"],
            ["-v", "--db=d", "search", "--", "обмін полоненими"],
        ),
        # Only the search command's: "search" as another command's word is left alone.
        (["match", "search", "--text", "-x"], ["match", "search", "--text", "-x"]),
        (["--db", "search", "match", "-x"], ["--db", "search", "match", "-x"]),
        (["search", "--", "-x"], ["search", "--", "-x"]),
        (["search", "обмін", "--json"], ["search", "обмін", "--json"]),
    ],
)  # fmt: skip
def test_the_cli_reads_a_search_as_typed(argv: list[str], meant: list[str]) -> None:
    assert search_argv(argv) == meant


async def test_a_query_asking_for_two_channels_at_once_says_so(store: Store) -> None:
    """Posts of @a that are also posts of @b: none can be, and the answer says why rather than
    "No posts found"."""
    for query, source in (
        ("(обмін from:@mod_press) from:@polon_hq", None),
        ("обмін from:@mod_press", "polon_hq"),
    ):
        with pytest.raises(QueryError) as exc:
            await _found(store, query, source=source)
        assert exc.value.msg.msgid.startswith("a post comes from one channel")
    # The same channel twice is that channel.
    assert await _found(store, "обмін from:@polon_hq", source="@polon_hq") == _texts(
        "polon_hq", word="обмін"
    )
