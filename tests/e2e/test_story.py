"""The story of an article built from an official's posts, end to end through the bot: the
editor sets up a rule and the glossary over the fake Bot API, two posts from the same official
2½ hours apart become an alert and a threaded update, and the English draft names people in the
nominative and gives the background; it runs once per language (uk, en, ru), each reader's
draft in their language. Every post here is written for this test; the people and
channels are invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.delivery.notifier import Notifier
from bot.desk.glossary_file import GlossaryWatch
from bot.ingest.pipeline import Pipeline
from storage.records import Post
from tests.delivery.test_notifier import settings as bot_settings
from tests.handlers.harness import EDITOR, JOURNALIST, running_desk

# What the journalist reads, per language: the same story, the words around the quotes from
# the catalogues, the quotes verbatim in the posts' Ukrainian (house-style marks per language).
STORY: dict[str, dict[str, Any]] = {
    "en": {
        "added": "İbrahim Kalın, head of Türkiye's National Intelligence Organization",
        "lead": (
            "Rustem Umarov, Secretary of the National Security and Defense Council of Ukraine, "
            "said on Telegram: “Окрема увага — гуманітарному треку: обмін полоненими має "
            "відновитися якнайшвидше.”"
        ),
        "when": "3:38 p.m., Jan. 5 · https://t.me/umarov_rnbo_demo/51",
        "photo": "Photo",
        "names": "Names: Hakan Fidan, Foreign Minister of Türkiye",
        "background": [
            "On Dec. 20, 2025, NSDC Secretary Rustem Umarov said: “Домовленість про великий "
            "обмін полоненими до Нового року досягнуто.” https://t.me/umarov_rnbo_demo/40",
            "On Dec. 11, 2025, President of Ukraine Maksym Levchuk said: “Обмін полоненими "
            "фактично зупинився: Москва затягує процес.” https://t.me/levchuk_demo/900",
        ],
        "update": (
            "Updated at 6:08 p.m. Umarov also said: “Окремо говорили про звільнення наших "
            "полонених, повернення цивільних і дітей.”"
        ),
        "stressed": (
            "Rustem Umarov, Secretary of the National Security and Defense Council of "
            "Ukraine, stressed on Telegram: “Окремо говорили"
        ),
        "names_update": (
            "Names: İbrahim Kalın, head of Türkiye's National Intelligence Organization"
        ),
    },
    "uk": {
        "added": "Ібрагім Калин",
        "lead": (
            "Секретар Ради національної безпеки і оборони України Рустем Умаров повідомив у "
            "Telegram: «Окрема увага — гуманітарному треку: обмін полоненими має відновитися "
            "якнайшвидше»."
        ),
        "when": "15:38, 5 січня · https://t.me/umarov_rnbo_demo/51",
        "photo": "Фото",
        "names": None,  # the post is in Ukrainian: nothing to name for a Ukrainian reader
        "background": [
            "20 грудня 2025 року секретар РНБО Рустем Умаров заявив: «Домовленість про великий "
            "обмін полоненими до Нового року досягнуто». https://t.me/umarov_rnbo_demo/40",
            "11 грудня 2025 року президент України Максим Левчук заявив: «Обмін полоненими "
            "фактично зупинився: Москва затягує процес». https://t.me/levchuk_demo/900",
        ],
        "update": (
            "Оновлено о 18:08. Умаров також заявив: «Окремо говорили про звільнення наших "
            "полонених, повернення цивільних і дітей»."
        ),
        "stressed": (
            "Секретар Ради національної безпеки і оборони України Рустем Умаров наголосив у "
            "Telegram: «Окремо говорили"
        ),
        "names_update": None,
    },
    "ru": {
        "added": "Ибрагим Калын",
        "lead": (
            "Секретарь Совета национальной безопасности и обороны Украины Рустем Умаров "
            "сообщил в Telegram: «Окрема увага — гуманітарному треку: обмін полоненими має "
            "відновитися якнайшвидше»."
        ),
        "when": "15:38, 5 января · https://t.me/umarov_rnbo_demo/51",
        "photo": "Фото",
        "names": "Имена: Хакан Фидан",
        "background": [
            "20 декабря 2025 года секретарь СНБО Рустем Умаров заявил: «Домовленість про великий "
            "обмін полоненими до Нового року досягнуто». https://t.me/umarov_rnbo_demo/40",
            "11 декабря 2025 года президент Украины Максим Левчук заявил: «Обмін полоненими "
            "фактично зупинився: Москва затягує процес». https://t.me/levchuk_demo/900",
        ],
        "update": (
            "Обновлено в 18:08. Умаров также заявил: «Окремо говорили про звільнення наших "
            "полонених, повернення цивільних і дітей»."
        ),
        # No Russian verb is known for the post's "наголосив": the lead keeps its own.
        "stressed": (
            "Секретарь Совета национальной безопасности и обороны Украины Рустем Умаров "
            "сообщил в Telegram: «Окремо говорили"
        ),
        "names_update": "Имена: Ибрагим Калын",
    },
}

FIRST = datetime(2026, 1, 5, 13, 38, tzinfo=UTC)  # 15:38 in Kyiv
SECOND = FIRST + timedelta(hours=2, minutes=30)  # 18:08 in Kyiv

MEETING = (
    "Провів зустріч в Анкарі з Міністром закордонних справ Туреччини Хаканом Фіданом.\n"
    "Обговорили безпекову ситуацію, перебіг переговорного процесу та координацію подальших "
    "кроків. Окрема увага — гуманітарному треку: обмін полоненими має відновитися якнайшвидше. "
    "Туреччина — важливий партнер і один із ключових майданчиків для діалогу. 🇺🇦🇹🇷"
)
INTELLIGENCE = (
    "Також провів зустріч із головою Національної розвідувальної організації Туреччини "
    "Ібрагімом Калином. Обмінялися оцінками безпекової ситуації. «Окремо говорили про "
    "звільнення наших полонених, повернення цивільних і дітей», — наголосив Рустем Умаров."
)


async def test_two_posts_become_an_alert_and_a_threaded_update_with_names_and_background(
    tmp_path: Path, lang: str
) -> None:
    want = STORY[lang]
    async with running_desk(tmp_path, lang=lang) as desk:
        store = desk.store
        # The desk sets up through the bot.
        await desk.ask(
            EDITOR,
            "/glossary add person Хакан Фідан | Hakan Fidan | Хакан Фидан | "
            "Foreign Minister of Türkiye",
        )
        (added,) = await desk.ask(
            EDITOR,
            "/glossary add person Ібрагім Калин | İbrahim Kalın | Ибрагим Калын | "
            "head of Türkiye's National Intelligence Organization",
        )
        assert added.text == desk.t("Added: {entry}", entry=want["added"])
        await desk.ask(EDITOR, "/rule add (обмін полонений) OR полонений OR полоненими")
        await desk.ask(JOURNALIST, "/tz Europe/Kyiv")
        await store.sources.upsert(
            "umarov_rnbo_demo",
            attribution={
                "person_uk": "Рустем Умаров",
                "person_en": "Rustem Umarov",
                "person_ru": "Рустем Умаров",
                "role_uk": "Секретар Ради національної безпеки і оборони України",
                "role_en": "Secretary of the National Security and Defense Council of Ukraine",
                "role_ru": "Секретарь Совета национальной безопасности и обороны Украины",
                "short_role_uk": "секретар РНБО",
                "short_role_en": "NSDC Secretary",
                "short_role_ru": "секретарь СНБО",
            },
            gender="m",
        )
        await store.sources.upsert(
            "levchuk_demo",
            attribution={
                "person_uk": "Максим Левчук",
                "person_en": "Maksym Levchuk",
                "person_ru": "Максим Левчук",
                "role_uk": "Президент України",
                "role_en": "President of Ukraine",
                "role_ru": "Президент Украины",
            },
            gender="m",
        )
        # The archive: what the desk stored before the story (no alerts for it).
        archive = Pipeline(store, alert=False)
        await archive.handle(
            Post(
                "levchuk_demo",
                900,
                datetime(2025, 12, 11, 10, 0, tzinfo=UTC),
                "Обмін полоненими фактично зупинився: Москва затягує процес.",
            )
        )
        await archive.handle(
            Post(
                "umarov_rnbo_demo",
                40,
                datetime(2025, 12, 20, 9, 0, tzinfo=UTC),
                "Домовленість про великий обмін полоненими до Нового року досягнуто.",
            )
        )
        # A later post on the topic, stored before the alert is composed, is not background.
        await archive.handle(
            Post(
                "levchuk_demo",
                950,
                FIRST + timedelta(hours=1),
                "Повернення полонених — наш пріоритет.",
            )
        )
        pipe = Pipeline(store, glossary=GlossaryWatch(tmp_path / "glossary.toml"))
        notifier = Notifier(store, desk.api.bot(), bot_settings(desk.api))
        await pipe.handle(Post("umarov_rnbo_demo", 51, FIRST, MEETING, media="photo"))
        await notifier.drain_once()
        await pipe.handle(Post("umarov_rnbo_demo", 52, SECOND, INTELLIGENCE))
        await notifier.drain_once()

        # The alerts are the messages that say who said it on Telegram, in the reader's words.
        said = desk.t("{verb} on Telegram").partition("{verb}")[2]
        alerts = [m for m in desk.bot_messages(JOURNALIST) if said in (m.text or "")]
        first, update = alerts
        text = first.text or ""
        lead = text.splitlines()[0]
        assert lead == want["lead"]
        assert want["when"] in text
        assert f"{want['photo']}: t.me/umarov_rnbo_demo" in text
        # Names are listed when the post is in another language than the reader's.
        assert (want["names"] in text) if want["names"] else (desk.t("Names:") not in text)
        heading = desk.t("Earlier:")
        background = text.split(heading + "\n")[1].split("\n\n")[0].splitlines()
        assert background == want["background"]
        assert "Повернення полонених — наш пріоритет" not in text
        rule = "(обмін полонений) OR полонений OR полоненими"
        assert desk.t("Rule: {rule}", rule=rule) in text

        # The follow-up replies to the first alert and opens with the paragraph to paste.
        assert update.reply_to == first.message_id
        body = update.text or ""
        assert body.startswith(str(want["update"]))
        # The speaker's "— наголосив" tail left the quote and became the lead's verb.
        assert want["stressed"] in body
        assert (want["names_update"] in body) if want["names_update"] else True

        # "Full text" quotes what the alert quoted; "Earlier posts" looks back only.
        post = await store.posts.get_by_link("umarov_rnbo_demo", 51)
        assert post is not None
        before = len(desk.bot_messages(JOURNALIST))
        await desk.press(JOURNALIST, f"full:{post.id}")
        await desk.api.wait_for(lambda a: len(desk.bot_messages(JOURNALIST)) >= before + 2)
        draft = desk.bot_messages(JOURNALIST)[-1].text or ""
        assert draft.startswith("📝 " + desk.t("Draft")) and lead in draft
        await desk.press(JOURNALIST, f"rel:{post.id}")
        await desk.api.wait_for(lambda a: len(desk.bot_messages(JOURNALIST)) >= before + 3)
        earlier = desk.bot_messages(JOURNALIST)[-1].text or ""
        assert earlier.startswith(heading) and "levchuk_demo/900" in earlier
        assert "levchuk_demo/950" not in earlier
