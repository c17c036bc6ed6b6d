"""A day of one official's posts as three desks read them on their phones: Ukrainian in Kyiv,
English in New York, Russian in Tbilisi. A statement, its figure corrected, updates hours
later, another official's post forwarded, a quotation of a third person, and a post recalling
what was said last month; through the pipeline, the notifier and the fake Bot API over HTTP.
Every post is written for this test; the people and channels are invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery.notifier import Notifier
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings as bot_settings
from tests.fakebot import FakeBotAPI, Message, fakebot

__all__ = ["fakebot"]

MINISTER = "health_minister_demo"
PREMIER = "premier_demo"
DESKS = {"uk": (901, "Europe/Kyiv"), "en": (902, "America/New_York"), "ru": (903, "Asia/Tbilisi")}


def kyiv(hour: int, minute: int, day: int = 17, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=2)


async def _desk(store: Store) -> None:
    await store.sources.upsert(
        MINISTER,
        attribution={
            "person_uk": "Оксана Дорошенко",
            "person_en": "Oksana Doroshenko",
            "person_ru": "Оксана Дорошенко",
            "role_uk": "Міністерка охорони здоров'я України",
            "role_en": "Minister of Health of Ukraine",
            "role_ru": "Министр здравоохранения Украины",
            "short_role_uk": "міністерка охорони здоров'я",
            "short_role_en": "Health Minister",
            "short_role_ru": "министр здравоохранения",
        },
        gender="f",
    )
    await store.sources.upsert(
        PREMIER,
        attribution={
            "person_uk": "Андрій Савчук",
            "person_en": "Andrii Savchuk",
            "person_ru": "Андрей Савчук",
            "role_uk": "Прем'єр-міністр України",
            "role_en": "Prime Minister of Ukraine",
            "role_ru": "Премьер-министр Украины",
        },
        gender="m",
    )
    await store.rules.add("госпіталь", rule_to_json(parse_rule("госпіталь")))
    for lang, (user_id, zone) in DESKS.items():
        await store.people.add(role="journalist", user_id=user_id, lang=lang, tz=zone)


DAY = [
    Post(
        MINISTER,
        801,
        kyiv(9, 5),
        "Сьогодні в Україну прибули перші 12 мобільних госпіталів від партнерів. "
        "Загалом до кінця травня очікуємо 40.",
    ),
    Post(
        MINISTER,
        801,
        kyiv(9, 5),
        "Сьогодні в Україну прибули перші 14 мобільних госпіталів від партнерів. "
        "Загалом до кінця травня очікуємо 40.",
        edit_date=kyiv(9, 40),
    ),
    Post(
        MINISTER,
        802,
        kyiv(12, 30),
        "Марта Кінг: «Україна розгортає мобільні госпіталі швидше за всіх». Дякую за оцінку!",
    ),
    Post(
        MINISTER,
        803,
        kyiv(15, 20),
        "Уряд виділив 500 млн грн на оснащення мобільних госпіталів.",
        forward_from=f"@{PREMIER}",
        forward_link=f"https://t.me/{PREMIER}/3412",
    ),
    Post(
        MINISTER,
        804,
        kyiv(20, 10),
        "Як я й казала в лютому, перші госпіталі прибули навесні.",
    ),
    Post(MINISTER, 805, kyiv(23, 50), "Мобільні госпіталі працюватимуть цілодобово."),
]


async def test_a_newsroom_day_reads_right_on_three_desks(
    tmp_path: Path, fakebot: FakeBotAPI
) -> None:
    store = await Store.open(tmp_path / "day.db")
    try:
        await _desk(store)
        archive = Pipeline(store, alert=False)
        await archive.handle(
            Post(
                MINISTER,
                700,
                kyiv(10, 15, day=12, month=2),
                "Домовилися з партнерами про 40 мобільних госпіталів до кінця весни.",
            )
        )
        pipe = Pipeline(store)
        notifier = Notifier(store, fakebot.bot(), bot_settings(fakebot))
        for post in DAY:
            await pipe.handle(post)
            await notifier.drain_once()
        await notifier.bot.session.close()
        read = {lang: fakebot.sent_messages(user_id) for lang, (user_id, _) in DESKS.items()}
    finally:
        await store.close()

    for lang, messages in read.items():
        first, edit, quoted, forward, recall, late = messages
        # One story: every later message replies to the one before it, the edit to its post's.
        assert edit.reply_to == first.message_id, lang
        assert quoted.reply_to == first.message_id, lang
        assert (forward.reply_to, recall.reply_to) == (quoted.message_id, forward.message_id)
        assert late.reply_to == recall.message_id
        # Last month's statement, which the last post recalls, is its background; no post of
        # the day's thread is.
        background = _background(recall)
        assert "https://t.me/health_minister_demo/700" in background, (lang, background)
        assert "/801" not in background and "/802" not in background, (lang, background)
        assert "https://t.me/premier_demo/3412" not in background, (lang, background)
        # The forward names the Prime Minister's own post, not the minister's copy of it.
        assert "https://t.me/premier_demo/3412" in (forward.text or ""), lang

    uk, en, ru = (read[lang] for lang in ("uk", "en", "ru"))
    assert _first_line(uk[0]).endswith(
        "«Сьогодні в Україну прибули перші 12 мобільних госпіталів від партнерів»."
    )
    assert "09:05, 17 березня · https://t.me/health_minister_demo/801" in (uk[0].text or "")
    assert "3:05 a.m. (9:05 a.m. Kyiv time), March 17" in (en[0].text or "")
    assert "11:05 (09:05 по киевскому времени), 17 марта" in (ru[0].text or "")
    # The corrected figure.
    assert "14" in (uk[1].text or "") and "Що змінилося" in (uk[1].text or "")
    # The WHO director's words are reported, not stated, by the minister.
    assert _first_line(uk[2]).startswith(
        "Оновлено о 12:30. Дорошенко також повідомила: «Марта Кінг"
    )
    assert _first_line(ru[2]).startswith(
        "Обновлено в 14:30 (12:30 по киевскому времени). Дорошенко также сообщила:"
    )
    # The forward: who forwarded it, whose words they are.
    assert _first_line(uk[3]).startswith(
        "Оновлено о 15:20. Дорошенко переслала допис. Савчук заявив: «Уряд"
    )
    assert _first_line(en[3]).startswith(
        "Updated at 9:20 a.m. (3:20 p.m. Kyiv time). Doroshenko forwarded a post. "
        "Savchuk said: “Уряд"
    )
    # Late in Kyiv is the next day in Tbilisi, and the update says so.
    assert _first_line(ru[5]).startswith(
        "Обновлено в 01:50, 18 марта (23:50, 17 марта по киевскому времени)."
    )
    assert _first_line(en[5]).startswith("Updated at 5:50 p.m. (11:50 p.m. Kyiv time).")


def _first_line(message: Message) -> str:
    return (message.text or "").split("\n")[0]


def _background(message: Message) -> str:
    text = message.text or ""
    for heading in ("Раніше:\n", "Earlier:\n", "Ранее:\n"):
        if heading in text:
            return text.split(heading)[1].split("\n\n")[0]
    return ""
