"""Search as an editor types it: the grammar's traps (a query that can never match, or means
something else than it says) get the posts meant or a clear answer, never a silent "nothing".
Texts written for these tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.desk.search as search_mod
from bot.desk.search import QueryError, search_posts
from bot.ingest.pipeline import Pipeline
from bot.matching import RuleSyntaxError, match_rule, parse_rule
from bot.matching.rules import And, FromSource, Not, Or, Word
from storage.records import Post
from storage.store import Store

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
