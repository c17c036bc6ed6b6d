"""A name searched as an editor copies it from a post, in whatever case the post put it
("Сибігою", "Сибігу"): it finds the posts that name the person in any case, in rules and in
search, on both back ends. Texts written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk.search import OTHER_SPELLINGS, search_posts
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from bot.matching import Matcher, match_rule, parse_rule
from storage.records import Post
from storage.store import Store
from tests.handlers.harness import JOURNALIST, running_desk

START = datetime(2025, 11, 3, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        # Ukrainian: the -а declension of a surname no dictionary knows.
        ("Сибігою", "Міністр Андрій Сибіга прибув до Варшави."),
        ("Сибігу", "Міністр Андрій Сибіга прибув до Варшави."),
        ("Сибіги", "Міністр Андрій Сибіга прибув до Варшави."),
        ("Сибізі", "Міністр Андрій Сибіга прибув до Варшави."),
        ("Сибігою", "Прем'єр подякував Сибізі за роботу."),
        ("Сибігу", "Переговори з Сибігою тривали дві години."),
        # Russian spelling of the same cases, and across the alphabets.
        ("Сибиге", "Министр Андрей Сибига прибыл в Варшаву."),
        ("Сибиги", "Министр Андрей Сибига прибыл в Варшаву."),
        ("Сибигу", "Міністр Андрій Сибіга прибув до Варшави."),
        ("Сибігою", "Переговоры с Сибигой длились два часа."),
        # -я: a surname (or first name) whose nominative ends in -ія.
        ("Гамалією", "Голова громади Олег Гамалія відкрив укриття."),
        ("Гамалии", "Голова громади Олег Гамалія відкрив укриття."),
        # A consonant stem copied in the instrumental or locative.
        ("Фіданом", "Міністр Хакан Фідан приїхав до Києва."),
        ("Умєрові", "Міністр Рустем Умєров прибув."),
        # An adjective's declension, copied in one alphabet, found in the other.
        ("Вербицкого", "Зустрілася з Тарасом Вербицьким."),
        ("Вербицькому", "Министр Вербицкий заявил."),
        ("Зеленского", "Президент Зеленський заявив."),
        ("Гайової", "Секретарка Олена Гайова доповіла."),
    ],
)
def test_a_name_copied_in_another_case_finds_the_nominative(query: str, text: str) -> None:
    """ "Сибігою" looked for itself alone (~сибигою): the nominative Сибіга, and every other
    case, went unfound, though "Сибіга" found them all."""
    node = parse_rule(query)
    assert match_rule(node, text, "c") is not None
    matcher = Matcher()
    matcher.add(1, node)
    assert [m.rule_id for m in matcher.match(text, "c")] == [1]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Умєрову", "Він умер."),  # -ову is no case ending of Умєров's
        ("Мирою", "Мир настав."),  # a stem of three letters is no name's
        ("Сибігою", "Сибір і Сибірю."),
        ("Гамалією", "Гамак висів."),
    ],
)
def test_a_name_in_another_case_finds_no_other_word(query: str, text: str) -> None:
    assert match_rule(parse_rule(query), text, "c") is None


POSTS = [
    "Міністр закордонних справ Андрій Сибіга провів зустріч у Брюсселі.",
    "Прем'єр-міністр доручив Сибізі підготувати візит.",
    "Переговоры с Сибигой длились два часа.",
    "Журналісти запитали Сибігу про санкції.",
    "Сибірські морози прийдуть у грудні.",  # no Сибіга here
    "Засідання уряду перенесли на вечір.",
]


async def test_search_a_name_copied_in_any_case_on_both_back_ends(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        await store.sources.ensure("mfa_feed")
        pipeline = Pipeline(store, alert=False)
        for i, text in enumerate(POSTS, start=1):
            await pipeline.handle(
                Post(channel="mfa_feed", message_id=i, date=START + timedelta(hours=i), text=text)
            )
        naming = POSTS[3::-1]
        for query in ("Сибіга", "Сибігою", "Сибігу", "Сибізі", "Сибиге", "Сибигой"):
            page = await search_posts(store, query, zone=ZoneInfo("Europe/Kyiv"), limit=20)
            assert [h.post.text for h in page.hits] == naming, query
            assert all(h.spans for h in page.hits), query  # the name is highlighted
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("lang", "query", "name", "others", "suggested"),
    [
        ("en", "Kovalenko", "Ivanna Kovalenko", "Коваленко", "Kovalenko OR Коваленко"),
        ("uk", "Коваленко", "Іванна Коваленко", "Kovalenko", "Коваленко АБО Kovalenko"),
    ],
)
async def test_a_followed_officials_name_in_another_alphabet_is_named(
    tmp_path: Path, lang: str, query: str, name: str, others: str, suggested: str
) -> None:
    """`/search Kovalenko` found nothing and said nothing, though the desk follows the
    minister's channel and knows her name in uk and en (the sources file): only names in the
    glossary were offered in their other spellings."""
    tr = translator(lang)
    async with running_desk(tmp_path, lang=lang) as desk:
        [reply] = await desk.ask(JOURNALIST, f"/search {query}")
        hint = tr.gettext(OTHER_SPELLINGS, name=name, others=others, query=suggested)
        assert "💡 " + hint in (reply.text or "")


async def test_a_channel_pasted_as_a_word_names_no_one(tmp_path: Path) -> None:
    """`/search t.me/kovalenko_official`: its words were taken for names, and the channel's
    minister was offered in other spellings of a name nobody searched."""
    async with running_desk(tmp_path, lang="en") as desk:
        await desk.store.sources.upsert(
            "kovalenko_official",
            attribution={"person_en": "Ivanna Kovalenko", "person_uk": "Іванна Коваленко"},
        )
        [reply] = await desk.ask(JOURNALIST, "/search t.me/kovalenko_official")
        text = reply.text or ""
        assert "write from:@kovalenko_official" in text and "also written" not in text
