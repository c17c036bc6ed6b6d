"""Drafts: attribution in three languages, local time, credit, forwards, word diffs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from bot.drafting.background import Earlier, background_runs
from bot.drafting.diff import diff_plain, diff_runs, word_diff
from bot.drafting.draft import (
    DraftOptions,
    attribution_lead,
    build_draft,
    credit_line,
    format_when,
    origin_of,
    updated_line,
)
from bot.drafting.html import plain, to_html
from bot.drafting.style import HouseStyle
from bot.drafting.update import update_paragraph

EVENING = datetime(2026, 11, 24, 16, 8, tzinfo=UTC)  # 18:08 in Kyiv (EET, UTC+2)


@dataclass(frozen=True)
class FakeSource:
    username: str = "petrenko_rnbo"
    title: str | None = "Іван Петренко"
    gender: str | None = "m"
    person: dict[str, str | None] = field(
        default_factory=lambda: {
            "uk": "Іван Петренко",
            "en": "Ivan Petrenko",
            "ru": "Иван Петренко",
        }
    )
    role: dict[str, str | None] = field(
        default_factory=lambda: {
            "uk": "секретар РНБО",
            "en": "Secretary of the National Security and Defense Council of Ukraine",
            "ru": "секретарь СНБО",
        }
    )
    short_role: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class FakePost:
    text: str
    channel: str = "petrenko_rnbo"
    message_id: int = 321
    date: datetime = EVENING
    media: str | None = None
    forward_from: str | None = None
    forward_link: str | None = None
    edit_date: datetime | None = None

    @property
    def permalink(self) -> str:
        return f"https://t.me/{self.channel}/{self.message_id}"


@dataclass(frozen=True)
class Mark:
    start: int
    end: int


NONE = {"uk": None, "en": None, "ru": None}


@pytest.mark.parametrize(
    ("lang", "gender", "expected"),
    [
        ("uk", "m", "Секретар РНБО Іван Петренко повідомив у Telegram"),
        ("uk", "f", "Секретар РНБО Іван Петренко повідомила у Telegram"),
        ("ru", "m", "Секретарь СНБО Иван Петренко сообщил в Telegram"),
        ("ru", "f", "Секретарь СНБО Иван Петренко сообщила в Telegram"),
        ("uk", None, "Секретар РНБО Іван Петренко повідомляє у Telegram"),
        ("ru", None, "Секретарь СНБО Иван Петренко сообщает в Telegram"),
        (
            "en",
            "f",
            "Ivan Petrenko, Secretary of the National Security and Defense Council of Ukraine,"
            " said on Telegram",
        ),
    ],
)
def test_lead_with_person_and_role(lang: str, gender: str | None, expected: str) -> None:
    assert attribution_lead(FakeSource(gender=gender), lang) == expected


def test_lead_for_an_institution_without_a_person() -> None:
    staff = FakeSource(
        title="Генштаб",
        person=dict(NONE),
        role={"uk": "Генштаб ЗСУ", "en": "The General Staff of Ukraine", "ru": "Генштаб ВСУ"},
    )
    assert attribution_lead(staff, "uk") == "Генштаб ЗСУ повідомив у Telegram"
    assert attribution_lead(staff, "ru") == "Генштаб ВСУ сообщил в Telegram"
    assert attribution_lead(staff, "en") == "The General Staff of Ukraine said on Telegram"
    # Gender unknown (Міноборони is neuter): the present tense agrees with any subject.
    ministry = FakeSource(gender=None, person=dict(NONE), role={**NONE, "uk": "Міноборони"})
    assert attribution_lead(ministry, "uk") == "Міноборони повідомляє у Telegram"


def test_lead_falls_back_to_another_language_then_to_the_channel() -> None:
    only_uk = FakeSource(person={**NONE, "uk": "Іван Петренко"}, role=dict(NONE))
    assert attribution_lead(only_uk, "en") == "Ivan Petrenko said on Telegram"
    titled = FakeSource(person=dict(NONE), role=dict(NONE), title="Новини громади")
    assert attribution_lead(titled, "uk") == "У Telegram-каналі «Новини громади» повідомили"
    assert attribution_lead(titled, "en") == "The Telegram channel “Новини громади” said"
    bare = FakeSource(person=dict(NONE), role=dict(NONE), title=None)
    assert attribution_lead(bare, "ru") == "В Telegram-канале @petrenko_rnbo сообщили"
    assert attribution_lead(None, "uk", channel="@unknown_ch") == (
        "У Telegram-каналі @unknown_ch повідомили"
    )


def test_english_never_glues_the_to_a_name_in_another_script() -> None:
    air_force = FakeSource(
        gender="pl", person=dict(NONE), role={**NONE, "uk": "Повітряні сили ЗСУ"}
    )
    # Given in Ukrainian only, the name is marked for translation ("[…]").
    assert attribution_lead(air_force, "en") == "[Повітряні сили ЗСУ] said on Telegram"
    assert attribution_lead(air_force, "ru") == "[Повітряні сили ЗСУ] сообщили в Telegram"
    draft = build_draft(
        FakePost("Загроза балістики."), air_force, DraftOptions(lang="en", tz="Europe/Kyiv")
    )
    assert draft.subject == "[Повітряні сили ЗСУ]"
    english = FakeSource(person=dict(NONE), role={**NONE, "en": "Air Force of Ukraine"})
    assert attribution_lead(english, "en") == "The Air Force of Ukraine said on Telegram"


def test_english_draft_spells_a_cyrillic_only_name_in_latin() -> None:
    # An editor added the source in Ukrainian only; the English desk must not get Cyrillic
    # inside its sentence, in the lead, the second reference or the background.
    uk_only = FakeSource(
        person={**NONE, "uk": "Юлія Свириденко"}, role={**NONE, "uk": "прем'єр-міністерка"}
    )
    lead = attribution_lead(uk_only, "en")
    # Her role, given in Ukrainian only, is marked for translation, not passed off as English.
    assert lead.startswith("Yuliia Svyrydenko, [прем'єр-міністерка],")
    draft = build_draft(
        FakePost("Уряд ухвалив рішення."), uk_only, DraftOptions(lang="en", tz="Europe/Kyiv")
    )
    assert draft.subject == "Svyrydenko"  # the second reference, in updates
    earlier = Earlier(FakePost("Уряд продовжив програму.", message_id=1), uk_only)
    shown = plain(background_runs([earlier], "en", "Europe/Kyiv"))
    assert "Svyrydenko" in shown and "Свириденко" not in shown
    # A Russian-only name takes the Russian passport spelling; Ukrainian drafts keep Cyrillic,
    # and a name the editor gave in English wins.
    ru_only = FakeSource(person={**NONE, "ru": "Сергей Лавров"}, role=dict(NONE))
    assert attribution_lead(ru_only, "en").startswith("Sergey Lavrov said")
    assert attribution_lead(uk_only, "uk").startswith("Прем'єр-міністерка Юлія Свириденко")
    assert attribution_lead(FakeSource(), "en").startswith("Ivan Petrenko,")


def test_english_clock_follows_ap_on_the_hour_noon_and_midnight() -> None:
    noon = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv
    assert format_when(noon, "Europe/Kyiv", "en") == "noon, Nov. 24"
    assert updated_line(noon, "Europe/Kyiv", "en") == "Updated at noon"
    midnight = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert format_when(midnight, "Europe/Kyiv", "en") == "midnight, Nov. 24"
    assert format_when(midnight, "Europe/Kyiv", "uk") == "00:00, 24 листопада"
    assert format_when(noon.replace(minute=5), "Europe/Kyiv", "en") == "12:05 p.m., Nov. 24"


def test_time_is_local_with_genitive_months() -> None:
    assert format_when(EVENING, "Europe/Kyiv", "uk") == "18:08, 24 листопада"
    assert format_when(EVENING, "Europe/Kyiv", "ru") == "18:08, 24 ноября"
    # English newsrooms: a 12-hour clock and AP months (or full names, per desk).
    assert format_when(EVENING, "Europe/Kyiv", "en") == "6:08 p.m., Nov. 24"
    full = HouseStyle(en_months="full")
    assert format_when(EVENING, "Europe/Kyiv", "en", style=full) == "6:08 p.m., November 24"
    # The same instant is already the next day in Tokyo, and summer time shifts Kyiv; a reader
    # outside Kyiv also gets the Kyiv time the story is told in, with Kyiv's own day when it
    # is not the reader's ("18:08 за київським часом, 25 листопада" put 18:08 in Kyiv on a day
    # it was not: the story's date was wrong by one for a desk writing in Kyiv time).
    assert format_when(EVENING, "Asia/Tokyo", "uk") == (
        "01:08, 25 листопада (18:08, 24 листопада за київським часом)"
    )
    assert (
        format_when(EVENING, "Asia/Tokyo", "en")
        == "1:08 a.m., Nov. 25 (6:08 p.m., Nov. 24, Kyiv time)"
    )
    assert format_when(EVENING, "Asia/Tokyo", "ru") == (
        "01:08, 25 ноября (18:08, 24 ноября по киевскому времени)"
    )
    assert updated_line(EVENING, "Asia/Tokyo", "en") == (
        "Updated at 1:08 a.m. (6:08 p.m., Nov. 24, Kyiv time)"
    )
    # An edit from another day names the reader's day before Kyiv's, as a draft does.
    two_days_on = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert updated_line(EVENING, "Asia/Tokyo", "en", now=two_days_on) == (
        "Updated at 1:08 a.m., Nov. 25 (6:08 p.m., Nov. 24, Kyiv time)"
    )
    assert format_when(EVENING, "Europe/London", "en") == (
        "4:08 p.m. (6:08 p.m. Kyiv time), Nov. 24"
    )
    summer = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert format_when(summer, "Europe/Kyiv", "uk") == "08:00, 1 липня"
    assert format_when(summer, "Europe/Kyiv", "en") == "8 a.m., July 1"
    assert updated_line(summer, "Europe/Kyiv", "ru") == "Обновлено в 08:00"
    assert updated_line(summer, "Europe/Kyiv", "en") == "Updated at 8 a.m."
    # An edit of an old post says which day the edit was.
    later = datetime(2026, 7, 3, 12, 0, tzinfo=UTC)
    assert updated_line(summer, "Europe/Kyiv", "uk", now=later) == "Оновлено о 08:00, 1 липня"


def test_the_home_zone_is_named_as_the_desk_set_it() -> None:
    # WIREWATCH_DRAFTS__HOME_TZ is the sources' zone; a desk that set Warsaw read "Kyiv time"
    # beside Warsaw's clock in every draft.
    warsaw = HouseStyle(home_tz="Europe/Warsaw")
    assert format_when(EVENING, "Europe/London", "en", style=warsaw) == (
        "4:08 p.m. (5:08 p.m. Warsaw time), Nov. 24"
    )
    assert format_when(EVENING, "Europe/London", "uk", style=warsaw) == (
        "16:08 (17:08 за часом міста Варшава), 24 листопада"
    )
    assert format_when(EVENING, "Europe/London", "ru", style=warsaw) == (
        "16:08 (17:08 по времени города Варшава), 24 ноября"
    )
    assert format_when(EVENING, "Asia/Tokyo", "en", style=warsaw) == (
        "1:08 a.m., Nov. 25 (5:08 p.m., Nov. 24, Warsaw time)"
    )
    assert updated_line(EVENING, "Europe/London", "en", style=warsaw) == (
        "Updated at 4:08 p.m. (5:08 p.m. Warsaw time)"
    )
    # A zone that is an offset, not a place, is named by its offset (Etc/GMT-3 is UTC+3).
    offset = HouseStyle(home_tz="Etc/GMT-3")
    assert format_when(EVENING, "Europe/London", "uk", style=offset) == (
        "16:08 (19:08 UTC+3), 24 листопада"
    )
    # Kyiv by its old name is still Kyiv.
    kiev = HouseStyle(home_tz="Europe/Kiev")
    assert format_when(EVENING, "Europe/London", "en", style=kiev) == (
        "4:08 p.m. (6:08 p.m. Kyiv time), Nov. 24"
    )


def test_photo_credit_only_for_visual_media() -> None:
    assert credit_line(FakePost("x", media="photo"), "uk") == "Фото: t.me/petrenko_rnbo"
    assert credit_line(FakePost("x", media="photo"), "en") == "Photo: t.me/petrenko_rnbo"
    assert credit_line(FakePost("x", media="video"), "ru") == "Видео: t.me/petrenko_rnbo"
    assert credit_line(FakePost("x", media="webpage"), "uk") is None
    assert credit_line(FakePost("x"), "uk") is None


def test_draft_plain_is_what_a_journalist_pastes() -> None:
    text = "Провели засідання РНБО. Ухвалили рішення щодо посилення ППО Харкова. Деталі згодом."
    post = FakePost(text, media="photo")
    start = text.index("ППО")
    draft = build_draft(
        post,
        FakeSource(),
        DraftOptions(lang="uk", tz="Europe/Kyiv", spans=[Mark(start, start + 3)]),
    )
    assert draft.plain() == (
        "Секретар РНБО Іван Петренко повідомив у Telegram: "
        "«Ухвалили рішення щодо посилення ППО Харкова».\n"
        "18:08, 24 листопада · https://t.me/petrenko_rnbo/321\n"
        "Фото: t.me/petrenko_rnbo"
    )
    assert draft.quote == text[draft.quote_start : draft.quote_end]
    markup = to_html(draft.runs())
    assert "<b>ППО</b>" in markup
    assert plain(draft.runs()) == draft.plain()


def test_english_draft_keeps_the_quote_in_the_post_language() -> None:
    text = "Зустрівся з послом. Обговорили «зимовий пакет» допомоги."
    draft = build_draft(FakePost(text), FakeSource(), DraftOptions(lang="en", tz="Europe/Kyiv"))
    # Inner quotation marks become the English inner kind.
    assert draft.first_line().endswith(": “Обговорили ‘зимовий пакет’ допомоги.”")


def test_forward_is_attributed_to_its_origin() -> None:
    post = FakePost(
        "Енергетики відновили живлення для 40 тисяч родин.",
        channel="aggregator_news",
        media="photo",
        forward_from="Міненерго",
        forward_link="https://t.me/MinEnergy_demo/77",
    )
    origin = origin_of(post)
    assert (origin.username, origin.link, origin.forwarded) == (
        "minenergy_demo",
        "https://t.me/minenergy_demo/77",
        True,
    )
    draft = build_draft(
        post, FakeSource(username="aggregator_news"), DraftOptions(lang="uk", tz="Europe/Kyiv")
    )
    assert draft.lead == "У Telegram-каналі @minenergy_demo повідомили"
    assert draft.link == "https://t.me/minenergy_demo/77"
    assert draft.credit == "Фото: t.me/minenergy_demo"
    assert "aggregator" not in draft.plain()
    known = FakeSource(
        username="minenergy_demo",
        gender="f",
        person={**NONE, "uk": "Ірина Стельмах"},
        role={**NONE, "uk": "міністерка енергетики"},
    )
    draft = build_draft(post, None, DraftOptions(lang="uk", tz="Europe/Kyiv", origin_source=known))
    assert draft.lead == "Міністерка енергетики Ірина Стельмах повідомила у Telegram"
    # Origin known by title only: the title, and the forwarder's own link to the post.
    titled = FakePost("Текст допису тут.", channel="aggregator_news", forward_from="Уряд")
    draft = build_draft(titled, None, DraftOptions(lang="ru", tz="Europe/Kyiv"))
    assert draft.lead == "В Telegram-канале «Уряд» сообщили"
    assert draft.link == "https://t.me/aggregator_news/321"


def test_post_without_text_still_drafts() -> None:
    draft = build_draft(
        FakePost("", media="photo"), FakeSource(), DraftOptions(lang="uk", tz="Europe/Kyiv")
    )
    assert draft.quote is None
    assert draft.plain().splitlines()[0] == (
        "Секретар РНБО Іван Петренко опублікував фото у Telegram."
    )
    en = build_draft(
        FakePost("🇺🇦", media="photo"), FakeSource(), DraftOptions(lang="en", tz="Europe/Kyiv")
    )
    assert en.first_line().endswith(", posted a photo on Telegram.")
    bare = build_draft(
        FakePost(""), FakeSource(gender="f"), DraftOptions(lang="ru", tz="Europe/Kyiv")
    )
    assert bare.first_line() == "Секретарь СНБО Иван Петренко сообщила в Telegram."


def test_word_diff_shows_changed_words_with_context() -> None:
    old = "Сьогодні у Києві пролунали вибухи. Працює ППО. Не виходьте з укриттів."
    new = "Сьогодні у Харкові пролунали вибухи. Працює ППО. Не виходьте з укриттів до відбою."
    diff = word_diff(old, new, context=2)
    assert diff_plain(diff) == (
        # The context is whole words: "вибухи." with its full stop.
        "Сьогодні у [-Києві-] {+Харкові+} пролунали вибухи.…\n…з укриттів {+до відбою+}."
    )
    markup = to_html(diff_runs(diff))
    assert "<s>Києві</s> <u>Харкові</u>" in markup
    assert not word_diff("а  б\nв", "а б в")  # whitespace alone is no change
    # Punctuation is its own token, and the spacing of the text is kept.
    assert diff_plain(word_diff("Пошкоджено два будинки.", "Пошкоджено три будинки!")) == (
        "Пошкоджено [-два-] {+три+} будинки[-.-] {+!+}"
    )


def test_word_diff_of_a_rewrite_is_bounded() -> None:
    old = " ".join(f"старе{i}" for i in range(3000))
    new = " ".join(f"нове{i}" if i % 7 == 0 else f"старе{i}" for i in range(3000))
    diff = word_diff(old, new, context=1)
    assert len(diff.hunks) == 8 and diff.more > 0
    assert "ще змін" in diff_plain(diff, "uk")
    rewrite = word_diff(old, " ".join(f"нове{i}" for i in range(3000)))
    assert all(len(p.text) <= 302 for h in rewrite.hunks for p in h.pieces)


def test_a_date_from_another_year_carries_the_year() -> None:
    from datetime import UTC, datetime

    from bot.drafting.draft import format_when

    moment = datetime(2024, 11, 18, 9, 0, tzinfo=UTC)  # 11:00 in Kyiv
    same_year = datetime(2024, 12, 30, tzinfo=UTC)
    next_year = datetime(2025, 1, 2, tzinfo=UTC)
    assert format_when(moment, "Europe/Kyiv", "uk", now=same_year) == "11:00, 18 листопада"
    assert format_when(moment, "Europe/Kyiv", "uk", now=next_year) == (
        "11:00, 18 листопада 2024 року"
    )
    assert format_when(moment, "Europe/Kyiv", "ru", now=next_year) == "11:00, 18 ноября 2024 года"
    assert format_when(moment, "Europe/Kyiv", "en", now=next_year) == "11 a.m., Nov. 18, 2024"
    assert format_when(moment, "Europe/Kyiv", "uk") == "11:00, 18 листопада"  # no clock, no year


MARCH = datetime(2025, 3, 3, 12, 13, tzinfo=UTC)  # 14:13 in Kyiv


def _update(source: FakeSource, lang: str) -> str:
    post = FakePost("Рух транспорту через міст відновлено.", channel=source.username, date=MARCH)
    draft = build_draft(post, source, DraftOptions(lang=lang, tz="Europe/Kyiv"))
    return plain(update_paragraph(draft, MARCH, "Europe/Kyiv", lang))


def _earlier(source: FakeSource, lang: str) -> str:
    post = FakePost("Рух транспорту через міст відновлено.", channel=source.username, date=MARCH)
    runs = background_runs([Earlier(post, source)], lang, "Europe/Kyiv", now=EVENING)
    return plain(runs).splitlines()[1]


BARE = FakeSource(
    username="regional_admin", title=None, gender=None, person=dict(NONE), role=dict(NONE)
)
LINK = " https://t.me/regional_admin/321"
QUOTE = "«Рух транспорту через міст відновлено»"
QUOTE_EN = "“Рух транспорту через міст відновлено.”"


@pytest.mark.parametrize(
    ("lang", "update", "earlier"),
    [
        (
            "uk",
            "Оновлено о 14:13. У каналі @regional_admin також повідомили: " + QUOTE + ".",
            "3 березня 2025 року в каналі @regional_admin повідомили: " + QUOTE + "." + LINK,
        ),
        (
            "ru",
            "Обновлено в 14:13. В канале @regional_admin также сообщили: " + QUOTE + ".",
            "3 марта 2025 года в канале @regional_admin сообщили: " + QUOTE + "." + LINK,
        ),
        (
            "en",
            "Updated at 2:13 p.m. The channel @regional_admin also said: " + QUOTE_EN,
            "On March 3, 2025, the channel @regional_admin said: " + QUOTE_EN + LINK,
        ),
    ],
)
def test_a_source_known_only_by_its_channel_reads_as_the_channel(
    lang: str, update: str, earlier: str
) -> None:
    assert _update(BARE, lang) == update
    assert _earlier(BARE, lang) == earlier


def test_update_and_background_speak_in_the_past_when_the_gender_is_not_given() -> None:
    umerov = FakeSource(
        username="umerov_demo",
        gender=None,
        person={**NONE, "uk": "Рустем Умєров"},
        role={**NONE, "uk": "Секретар РНБО"},
    )
    assert _update(umerov, "uk").startswith("Оновлено о 14:13. Умєров також заявив: «")
    assert _earlier(umerov, "uk").startswith(
        "3 березня 2025 року секретар РНБО Рустем Умєров заявив: «"
    )
    spokeswoman = FakeSource(
        username="mfa_demo",
        gender=None,
        person={**NONE, "uk": "Олена Петренко"},
        role={**NONE, "uk": "речниця МЗС"},
    )
    assert _earlier(spokeswoman, "uk").startswith(
        "3 березня 2025 року речниця МЗС Олена Петренко заявила: «"
    )
    ministry = FakeSource(
        username="mod_demo", gender=None, person=dict(NONE), role={**NONE, "uk": "Міноборони"}
    )
    assert _update(ministry, "uk").startswith("Оновлено о 14:13. Міноборони також заявило: «")
    # Nothing tells the gender: never the present tense.
    unknown = FakeSource(
        username="x_demo", gender=None, person={**NONE, "uk": "Рахманкулов"}, role=dict(NONE)
    )
    for text in (_update(umerov, "uk"), _earlier(ministry, "uk"), _update(unknown, "ru")):
        assert "заявляє" not in text and "заявляет" not in text


def test_a_short_role_in_another_language_does_not_displace_the_readers_own_role() -> None:
    # A source with its full role in uk and en and a short role in Ukrainian only: the English
    # desk's "Earlier:" line read "On Oct. 27, начальниця адміністрації Halyna Boichuk said",
    # the Ukrainian short role inside an English sentence, though an English role was there.
    port = FakeSource(
        username="odesa_port_demo2",
        gender="f",
        person={"uk": "Галина Бойчук", "en": "Halyna Boichuk", "ru": None},
        role={
            "uk": "Начальниця Одеської морської адміністрації",
            "en": "Head of the Odesa Maritime Administration",
            "ru": None,
        },
        short_role={"uk": "начальниця адміністрації", "en": None, "ru": None},
    )
    earlier = Earlier(FakePost("Порт прийняв 14 суден.", message_id=1), port)
    english = plain(background_runs([earlier], "en", "Europe/Kyiv"))
    assert "Head of the Odesa Maritime Administration Halyna Boichuk said" in english, english
    assert "начальниця" not in english
    # The reader's own short role still wins, and a desk with no role of its own takes one,
    # marked for translation.
    ukrainian = plain(background_runs([earlier], "uk", "Europe/Kyiv"))
    assert "начальниця адміністрації Галина Бойчук" in ukrainian, ukrainian
    russian = plain(background_runs([earlier], "ru", "Europe/Kyiv"))
    assert "[начальниця адміністрації] Галина Бойчук" in russian, russian
    # An institution named by its role alone: the English update names it in English.
    office = replace(port, person={"uk": None, "en": None, "ru": None})
    draft = build_draft(
        FakePost("Порт прийняв 14 суден."), office, DraftOptions(lang="en", tz="Europe/Kyiv")
    )
    assert draft.subject is not None and "начальниця" not in draft.subject, draft.subject
