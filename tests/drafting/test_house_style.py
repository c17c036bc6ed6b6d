"""House style: the sentence splitter's abbreviations, quote typography, leads that agree.

Every text here is written for these tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.drafting.draft import DraftOptions, attribution_lead, build_draft
from bot.drafting.quotes import speaker_verb, style_quote
from bot.drafting.sentences import choose_quote, split_sentences

WHEN = datetime(2026, 1, 5, 16, 8, tzinfo=UTC)


def texts(text: str) -> list[str]:
    return [s.text(text) for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Уряд виділив 100 млн дол. США на відбудову шкіл. Кошти надійдуть до 15 груд. "
            "2026 р. включно.",
            [
                "Уряд виділив 100 млн дол. США на відбудову шкіл.",
                "Кошти надійдуть до 15 груд. 2026 р. включно.",
            ],
        ),
        (
            "Засідання перенесли на 3 лют. Президент підписав указ.",
            ["Засідання перенесли на 3 лют.", "Президент підписав указ."],
        ),
        (
            "Переговори відбулися 11 лист. 2025 р. у Женеві. У 2024 р. сторони не зустрічалися.",
            [
                "Переговори відбулися 11 лист. 2025 р. у Женеві.",
                "У 2024 р. сторони не зустрічалися.",
            ],
        ),
        (
            "Встреча прошла 5 дек. 2025 г. в Анкаре. Стороны выделили 20 млрд руб. и 3 тыс. "
            "единиц техники.",
            [
                "Встреча прошла 5 дек. 2025 г. в Анкаре.",
                "Стороны выделили 20 млрд руб. и 3 тыс. единиц техники.",
            ],
        ),
        # A unit that ends the sentence still ends it before a capitalised word.
        (
            "Обсяг допомоги — 5 млн грн. Кошти вже надійшли. Зібрали 40 тис. Дякуємо!",
            ["Обсяг допомоги — 5 млн грн.", "Кошти вже надійшли.", "Зібрали 40 тис.", "Дякуємо!"],
        ),
        (
            "Рішення ухвалили у 2025 р. Далі буде звіт.",
            ["Рішення ухвалили у 2025 р.", "Далі буде звіт."],
        ),
    ],
)
def test_splitter_knows_months_currencies_years_and_acronyms(
    text: str, expected: list[str]
) -> None:
    assert texts(text) == expected


@pytest.mark.parametrize(
    ("text", "lang", "printed", "verb"),
    [
        # The full stop goes after the closing guillemet in uk/ru, inside in English.
        ("Переговорний процес триває.", "uk", "«Переговорний процес триває».", None),
        ("Переговорний процес триває.", "en", "“Переговорний процес триває.”", None),
        ("Чи буде обмін найближчим часом?", "ru", "«Чи буде обмін найближчим часом?»", None),
        # A post that is itself a quotation is not wrapped twice; its speaker's tail goes.
        (
            "«Туреччина — важливий майданчик для діалогу», — наголосив секретар.",
            "uk",
            "«Туреччина — важливий майданчик для діалогу».",
            "наголосив",
        ),
        (
            "Робота триває у тісній координації, — зазначила вона.",
            "uk",
            "«Робота триває у тісній координації».",
            "зазначила",
        ),
        # Inner quotation marks become the inner kind; emoji are dropped.
        (
            'Обговорили «зерновий коридор» та "чорноморську безпеку" 🇺🇦🤝🇹🇷',
            "uk",
            "«Обговорили „зерновий коридор“ та „чорноморську безпеку“».",
            None,
        ),
        (
            "Обговорили «зерновий коридор» 💪.",
            "en",
            "“Обговорили ‘зерновий коридор’.”",
            None,
        ),
        ("«Ми продовжуємо системну роботу».", "ru", "«Ми продовжуємо системну роботу».", None),
    ],
)
def test_quote_typography(text: str, lang: str, printed: str, verb: str | None) -> None:
    styled = style_quote(text, 0, len(text), lang)
    assert styled.text == printed
    assert styled.tail_verb == verb
    # Every character we print is the post's own, or a mark we added (-1).
    for ch, at in zip(styled.text, styled.origin, strict=True):
        assert at == -1 or text[at] == ch or (ch in "„“‘’" and text[at] in '«»"')


@pytest.mark.parametrize(
    ("text", "lang", "printed"),
    [
        ("Обмін відбувся 1 груд. 2025 р.", "uk", "«Обмін відбувся 1 груд. 2025 р.»."),
        ("Обмен состоялся 1 дек. 2025 г.", "ru", "«Обмен состоялся 1 дек. 2025 г.»."),
        ("Зустріч перенесли на 3 груд.", "uk", "«Зустріч перенесли на 3 груд.»."),
        ("Делегація прибула на вул.", "uk", "«Делегація прибула на вул.»."),
        ("Обмін відбувся 1 груд. 2025 р.", "en", "“Обмін відбувся 1 груд. 2025 р.”"),
        # A sentence's own full stop still goes after the guillemet.
        ("Обмін відбувся у 2025 році.", "uk", "«Обмін відбувся у 2025 році»."),
    ],
)
def test_a_quote_keeps_the_full_stop_of_a_final_abbreviation(
    text: str, lang: str, printed: str
) -> None:
    assert style_quote(text, 0, len(text), lang).text == printed


@pytest.mark.parametrize(
    ("text", "lang", "printed"),
    [
        ("Це „важливий“ крок.", "en", "“Це ‘важливий’ крок.”"),
        (
            "Це „важливий“ крок, а „другий“ — потім.",
            "en",
            "“Це ‘важливий’ крок, а ‘другий’ — потім.”",
        ),
        ("Це „важливий“ крок.", "uk", "«Це „важливий“ крок»."),
        ("We call it “the corridor” now.", "en", "“We call it ‘the corridor’ now.”"),
    ],
)
def test_inner_quotes_close_with_a_closing_mark(text: str, lang: str, printed: str) -> None:
    styled = style_quote(text, 0, len(text), lang)
    assert styled.text == printed
    for ch, at in zip(styled.text, styled.origin, strict=True):
        assert at == -1 or text[at] == ch or (ch in "„“‘’" and text[at] in "„“”")


def test_speaker_verb_is_kept_in_its_language_and_translated_for_english() -> None:
    assert speaker_verb("наголосила", "uk", "uk") == "наголосила"
    assert speaker_verb("наголосила", "ru", "uk") is None
    assert speaker_verb("подчеркнул", "ru", "ru") == "подчеркнул"
    assert speaker_verb("наголосив", "en", "uk") == "stressed"
    assert speaker_verb("сказав", "en", "uk") is None


NONE: dict[str, str | None] = {"uk": None, "en": None, "ru": None}


@dataclass(frozen=True)
class Src:
    username: str = "pps_demo"
    title: str | None = None
    gender: str | None = None
    person: dict[str, str | None] = field(default_factory=lambda: dict(NONE))
    role: dict[str, str | None] = field(default_factory=lambda: dict(NONE))
    short_role: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class P:
    text: str
    channel: str = "pps_demo"
    message_id: int = 7
    date: datetime = WHEN
    media: str | None = None
    forward_from: str | None = None
    forward_link: str | None = None
    edit_date: datetime | None = None

    @property
    def permalink(self) -> str:
        return f"https://t.me/{self.channel}/{self.message_id}"


def test_sources_agree_in_gender_and_number_and_institutions_take_the() -> None:
    air_force = Src(
        gender="pl",
        role={"uk": "Повітряні сили ЗСУ", "en": "Air Force of Ukraine", "ru": "Воздушные силы"},
    )
    assert attribution_lead(air_force, "uk") == "Повітряні сили ЗСУ повідомили у Telegram"
    assert attribution_lead(air_force, "ru") == "Воздушные силы сообщили в Telegram"
    assert attribution_lead(air_force, "en") == "The Air Force of Ukraine said on Telegram"
    ministry = Src(gender="n", role={**NONE, "uk": "Міноборони", "en": "the Defence Ministry"})
    assert attribution_lead(ministry, "uk") == "Міноборони повідомило у Telegram"
    assert attribution_lead(ministry, "en") == "The Defence Ministry said on Telegram"
    photo = build_draft(P("", media="photo"), air_force, DraftOptions(lang="uk", tz="Europe/Kyiv"))
    assert photo.first_line() == "Повітряні сили ЗСУ опублікували фото у Telegram."
    assert photo.credit == "Фото: t.me/pps_demo"


def test_the_speakers_tail_becomes_the_leads_verb() -> None:
    text = "«Обмін полоненими має відбутися до свят», — наголосила вона."
    src = Src(gender="f", person={"uk": "Олена Гайова", "en": "Olena Haiova", "ru": None})
    uk = build_draft(P(text), src, DraftOptions(lang="uk", tz="Europe/Kyiv"))
    assert uk.first_line() == (
        "Олена Гайова наголосила у Telegram: «Обмін полоненими має відбутися до свят»."
    )
    en = build_draft(P(text), src, DraftOptions(lang="en", tz="Europe/Kyiv"))
    assert en.first_line() == (
        "Olena Haiova stressed on Telegram: “Обмін полоненими має відбутися до свят.”"
    )


def test_quote_prefers_substance_over_datelines_greetings_and_link_tails() -> None:
    text = (
        "Київ, 5 січня\n"
        "Доброго ранку, друзі! Сьогодні провела переговори з партнерами в Анкарі. "
        "Домовилися про повернення 150 полонених до кінця місяця. "
        "Детальніше на сайті: https://example.org/news"
    )
    chosen = choose_quote(text)
    assert chosen is not None
    # No rule: the figure wins, the greeting, the dateline and the link tail never do.
    assert text[chosen[0] : chosen[1]] == (
        "Домовилися про повернення 150 полонених до кінця місяця."
    )


@pytest.mark.parametrize(
    ("text", "lang", "printed", "verb"),
    [
        # A speaker's tail after a bare comma goes too, in ru, uk and en.
        (
            "Обмен пленными состоится на этой неделе, сообщил министр.",
            "ru",
            "«Обмен пленными состоится на этой неделе».",
            "сообщил",
        ),
        (
            "Обмін полоненими відбудеться цього тижня, заявив міністр.",
            "uk",
            "«Обмін полоненими відбудеться цього тижня».",
            "заявив",
        ),
        (
            "Переговори тривають, наголосила вона.",
            "uk",
            "«Переговори тривають».",
            "наголосила",
        ),
        (
            "Talks will resume next week, the minister said.",
            "en",
            "“Talks will resume next week.”",
            "said",
        ),
        (
            "Talks will resume next week, said Rustem Umerov.",
            "en",
            "“Talks will resume next week.”",
            "said",
        ),
        ("We will rebuild the bridge, he added.", "en", "“We will rebuild the bridge.”", "added"),
        (
            "Exports will grow, the minister of economy said.",
            "en",
            "“Exports will grow.”",
            "said",
        ),
        # A comma before a verb with an object is the sentence's own words, not a tail.
        (
            "Він приїхав на нараду, сказав кілька слів.",
            "uk",
            "«Він приїхав на нараду, сказав кілька слів».",
            None,
        ),
        (
            "Ми зустрілися, розповіли Президенту про ситуацію.",
            "uk",
            "«Ми зустрілися, розповіли Президенту про ситуацію».",
            None,
        ),
        (
            "Он приехал, сообщил о решении.",
            "ru",
            "«Он приехал, сообщил о решении».",
            None,
        ),
    ],
)
def test_a_speakers_tail_after_a_comma_leaves_the_quote(
    text: str, lang: str, printed: str, verb: str | None
) -> None:
    styled = style_quote(text, 0, len(text), lang)
    assert styled.text == printed
    assert styled.tail_verb == verb


def test_an_english_tail_verb_reaches_the_english_lead() -> None:
    assert speaker_verb("stressed", "en", "en") == "stressed"
    assert speaker_verb("said", "uk", "en") is None  # the Ukrainian lead says its own "заявив"


@pytest.mark.parametrize(
    ("text", "lang", "printed"),
    [
        # A quote ending in a quotation that ends its own sentence: one full stop, not two
        # (it printed “…conflict.’.” and «…конфлікт.“».).
        (
            'The minister said: "We will not accept a frozen conflict."',
            "en",
            "“The minister said: ‘We will not accept a frozen conflict.’”",
        ),
        ("Who asked: “Is it over?”", "en", "“Who asked: ‘Is it over?’”"),
        (
            "Міністр сказав: «Ми не погодимося на заморожений конфлікт.»",
            "uk",
            "«Міністр сказав: „Ми не погодимося на заморожений конфлікт“».",
        ),
        (
            'Министр сказал: "Мы не согласимся на замороженный конфликт."',
            "ru",
            "«Министр сказал: „Мы не согласимся на замороженный конфликт“».",
        ),
    ],
)
def test_a_quote_ending_in_a_quotation_has_one_full_stop(
    text: str, lang: str, printed: str
) -> None:
    assert style_quote(text, 0, len(text), lang).text == printed


def test_a_quotations_ellipsis_and_abbreviation_keep_their_dots() -> None:
    for text, printed in [
        ("Він сказав: «Чекаємо...»", "«Він сказав: „Чекаємо...“»."),
        ("Він сказав: «Обмін відбувся у 2025 р.»", "«Він сказав: „Обмін відбувся у 2025 р.“»."),
    ]:
        assert style_quote(text, 0, len(text), "uk").text == printed


@pytest.mark.parametrize(
    ("text", "lang", "printed"),
    [
        # A quotation never closed in the post, or closed after a cut: its lone mark went into
        # the draft as «„Ми не здамося…» and «Обмін триває“», a quote that never closes.
        ("«Ми не здамося. Обмін триває.", "uk", "«Ми не здамося. Обмін триває»."),
        ("Обмін триває». Далі буде.", "uk", "«Обмін триває. Далі буде»."),
        ('Talks go on" until Friday.', "en", "“Talks go on until Friday.”"),
        # A quotation inside a quotation inside the quote takes the outer marks again, as house
        # style nests them; it printed „Це „пастка“, а не „мир““.
        (
            "Він сказав: «Це „пастка“, а не «мир»».",
            "uk",
            "«Він сказав: „Це «пастка», а не «мир»“».",
        ),
        (
            "Він сказав: «Це „пастка“, а не «мир»».",
            "en",
            "“Він сказав: ‘Це “пастка”, а не “мир”’.”",
        ),
        ("He said: “It is a “trap”.”", "en", "“He said: ‘It is a “trap”.’”"),
        # English marks in a post quoted for a uk/ru desk (an official's post in English):
        # “ opened nothing there and its ” was dropped as unmatched, «Martha King: “Ukraine…».
        (
            "Martha King: “Ukraine deploys hospitals fast.”",
            "uk",
            "«Martha King: „Ukraine deploys hospitals fast“».",
        ),
        (
            "We call it “the corridor” now, and “the deal” later.",
            "ru",
            "«We call it „the corridor“ now, and „the deal“ later».",
        ),
        # „…“ stays a pair, and a “ with no ” after it still closes what „ opened.
        ("Це „важливий“ крок і “ще один”.", "uk", "«Це „важливий“ крок і „ще один“»."),
    ],
)
def test_quotation_marks_in_a_quote_balance_and_nest(text: str, lang: str, printed: str) -> None:
    styled = style_quote(text, 0, len(text), lang)
    assert styled.text == printed
    for ch, at in zip(styled.text, styled.origin, strict=True):
        assert at < 0 or text[at] == ch or text[at] in '«»„“”"'


@pytest.mark.parametrize(
    ("text", "lang", "printed"),
    [
        # A list item is quoted without its number or bullet and without the comma or
        # semicolon that joined it to the next item: it printed «1) повернулися 150
        # захисників;». and “…захисників;.”
        ("1) повернулися 150 захисників;", "uk", "«повернулися 150 захисників»."),
        ("1) повернулися 150 захисників;", "en", "“повернулися 150 захисників.”"),
        ("— відремонтовано 3 підстанції,", "uk", "«відремонтовано 3 підстанції»."),
        ("• Восстановлено 12 подстанций;", "ru", "«Восстановлено 12 подстанций»."),
        ("2. We restored power to 40 towns,", "en", "“We restored power to 40 towns.”"),
        ("Головне за день:", "uk", "«Головне за день»."),
        # Figures and years that open a sentence are words, not numbering.
        ("2025 рік був важким.", "uk", "«2025 рік був важким»."),
        ("15 людей врятовано.", "uk", "«15 людей врятовано»."),
    ],
)
def test_a_list_items_marks_are_not_quoted(text: str, lang: str, printed: str) -> None:
    assert style_quote(text, 0, len(text), lang).text == printed


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        # A channel's tags before or after the words are filing, not speech: they were quoted
        # («#новини Сьогодні о 14:30 відбулася нарада»). A tag inside the sentence is a word.
        (
            "#новини #ППО Сьогодні о 14:30 відбулася нарада.",
            "«Сьогодні о 14:30 відбулася нарада».",
        ),
        ("Сьогодні відбулася нарада #новини #ППО", "«Сьогодні відбулася нарада»."),
        ("Сьогодні відбулася нарада. #новини", "«Сьогодні відбулася нарада»."),
        (
            "Стежте за #ЄдинийМарафон у мережі.",
            "«Стежте за #ЄдинийМарафон у мережі».",
        ),
        ("#ППО", "«#ППО»."),
        # A post of tags alone has no words to keep: it was quoted as its last tag only
        # («#Одеса» for "#порт #Одеса", the tag the rule matched left out).
        ("#порт #Одеса", "«#порт #Одеса»."),
        ("#порт #Одеса\n", "«#порт #Одеса»."),
        ("«Обмін відбувся», — наголосила вона. #полонені", "«Обмін відбувся»."),
    ],
)
def test_a_posts_tags_around_the_words_are_not_quoted(text: str, printed: str) -> None:
    assert style_quote(text, 0, len(text), "uk").text == printed
