"""A quote's own speaker tail ("— заявив Зеленський", ", розповіли Президенту") leaves the quote
and lends its verb to the lead only when it names the speaker the lead names. Anyone else's
words keep their attribution inside the quote, so a channel is never credited with what
somebody else said, and the lead's verb always agrees with its subject.

Every text here is written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.drafting.alert import compose_alert
from bot.drafting.draft import DraftOptions, build_draft
from tests.drafting.test_compose import source, stored

KYIV = "Europe/Kyiv"

PRESIDENT = {
    "person": {"uk": "Василь Гордієнко", "en": "Vasyl Hordiienko", "ru": None},
    "role": {"uk": "Президент України", "en": "President of Ukraine", "ru": None},
    "gender": "m",
}
STAFF = {"person": {}, "role": {"uk": "Генштаб ЗСУ", "en": "General Staff"}, "gender": None}


def first_line(text: str, lang: str = "uk", **src: Any) -> str:
    draft = build_draft(stored(text), source(**src), DraftOptions(lang=lang, tz=KYIV))
    return draft.first_line()


def test_a_tail_naming_someone_else_stays_in_the_quote() -> None:
    # Haiova's channel quotes the President: the words are his, and she did not "заявив".
    text = "«Обмін відбудеться найближчим часом», — заявив Зеленський."
    assert first_line(text) == (
        "Секретарка РНБО Олена Гайова повідомила у Telegram: "
        "«„Обмін відбудеться найближчим часом“, — заявив Зеленський»."
    )
    assert first_line(text, "en").startswith("Olena Haiova, NSDC Secretary, said on Telegram: ")
    assert "заявив Зеленський" in first_line(text, "en")


def test_a_comma_tail_whose_noun_is_the_addressee_is_no_speaker() -> None:
    # "розповіли Президенту": told TO the President; "Президенту" is no subject. It was cut,
    # and the lead took the plural verb: "Олена Гайова розповіли у Telegram".
    text = "Енергетики відновили живлення для 200 тисяч родин у Харкові, розповіли Президенту."
    want = "«Енергетики відновили живлення для 200 тисяч родин у Харкові, розповіли Президенту»."
    assert first_line(text) == "Секретарка РНБО Олена Гайова повідомила у Telegram: " + want
    # Even in the President's own channel the dative names whom they told, not who spoke.
    assert first_line(text, **PRESIDENT) == (
        "Президент України Василь Гордієнко повідомив у Telegram: " + want
    )
    dash = "«Енергетики працюють цілодобово», — доповіли Президенту."
    assert "доповіли Президенту" in first_line(dash, **PRESIDENT)


def test_a_pronoun_of_another_gender_is_someone_else() -> None:
    text = "«Туреччина готова допомагати з обміном», — сказав він."
    assert first_line(text) == (
        "Секретарка РНБО Олена Гайова повідомила у Telegram: "
        "«„Туреччина готова допомагати з обміном“, — сказав він»."
    )
    # Her own pronoun still leaves, and its verb leads.
    own = "«Туреччина готова допомагати з обміном», — сказала вона."
    assert first_line(own) == (
        "Секретарка РНБО Олена Гайова сказала у Telegram: «Туреччина готова допомагати з обміном»."
    )


@pytest.mark.parametrize(
    "text",
    [
        "«Ми продовжуємо роботу над обміном», — наголосив Гордієнко.",
        "«Ми продовжуємо роботу над обміном», — наголосив Президент.",
        "Ми продовжуємо роботу над обміном, наголосив Василь Гордієнко.",
    ],
)
def test_the_sources_own_name_or_role_in_any_form_leaves_the_quote(text: str) -> None:
    assert first_line(text, **PRESIDENT) == (
        "Президент України Василь Гордієнко наголосив у Telegram: "
        "«Ми продовжуємо роботу над обміном»."
    )


def test_a_channel_with_no_speaker_keeps_the_named_speaker() -> None:
    # The lead names only the channel: cutting "— наголосив Гордієнко" lost who spoke.
    text = "«Ми продовжуємо роботу над обміном», — наголосив Гордієнко."
    line = first_line(text, person={}, role={}, gender=None, title="Новини оборони")
    assert line.endswith("«„Ми продовжуємо роботу над обміном“, — наголосив Гордієнко».")


def test_an_institutions_impersonal_tail_leaves_but_its_verb_must_agree() -> None:
    # "повідомили в Генштабі" is the General Staff's own tail; its plural verb does not agree
    # with "Генштаб" (it read "Генштаб ЗСУ повідомили у Telegram").
    text = "«Ворог втратив 40 одиниць техніки», — повідомили в Генштабі."
    line = first_line(text, **STAFF)
    assert line.endswith(": «Ворог втратив 40 одиниць техніки».")
    assert not line.startswith("Генштаб ЗСУ повідомили")


def test_a_deleted_posts_last_text_keeps_another_speakers_tail() -> None:
    text = "«Обмін відбудеться найближчим часом», — заявив Зеленський."
    payload = compose_alert(
        "delete",
        stored(text),
        source(),
        DraftOptions(lang="uk", tz=KYIV),
        deleted_at=datetime(2026, 11, 24, 17, 30, tzinfo=UTC),
    )
    assert "— заявив Зеленський»." in payload["plain"]
    assert "Гайова заявив" not in payload["plain"]


@pytest.mark.parametrize(
    ("text", "lang", "lead"),
    [
        (
            "«Уряд готовий профінансувати ремонт», — додала Гайова.",
            "uk",
            "Секретарка РНБО Олена Гайова повідомила у Telegram",
        ),
        (
            "«Мы готовы оплатить ремонт», — добавила Гайова.",
            "ru",
            "Секретарь СНБО Елена Гайова сообщила в Telegram",
        ),
        (
            "We will repair the bridge by spring, Haiova added.",
            "en",
            "Olena Haiova, NSDC Secretary, said on Telegram",
        ),
    ],
)
def test_an_added_tail_leaves_but_a_lead_never_says_added(text: str, lang: str, lead: str) -> None:
    # "Гайова додала у Telegram: «…»" opens a story with a verb that needs something before it.
    line = first_line(text, lang)
    assert line.startswith(lead + ": "), line
    assert "дода" not in line and "добав" not in line and "added" not in line


def test_a_follow_up_or_background_line_quoting_someone_else_says_reported() -> None:
    # "Гайова також заявила: «„…“, — заявив Зеленський»": she stated what he stated. The
    # channel relays his words, so she "reported" them, in every line that recalls them.
    from bot.drafting.background import Earlier, background_runs
    from bot.drafting.html import plain

    text = "«Обмін відбудеться найближчим часом», — заявив Зеленський."
    update = compose_alert(
        "new",
        stored(text),
        source(),
        DraftOptions(lang="uk", tz=KYIV),
        update=True,
        thread_date=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
    )
    assert update["plain"].startswith(
        "Оновлено о 18:08. Гайова також повідомила: «„Обмін відбудеться найближчим часом“, "
        "— заявив Зеленський»."
    )
    earlier = plain(background_runs([Earlier(stored(text), source())], "uk", KYIV))
    assert "Олена Гайова повідомила: «„Обмін" in earlier
    # Her own words still read as hers.
    own = compose_alert(
        "new",
        stored("Обмін відбудеться найближчим часом."),
        source(),
        DraftOptions(lang="uk", tz=KYIV),
        update=True,
        thread_date=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
    )
    assert own["plain"].startswith("Оновлено о 18:08. Гайова також заявила: «Обмін")


def test_a_pronoun_is_the_channels_own_only_when_the_gender_tells() -> None:
    # A channel known only by its title cannot be "він": the pronoun is whoever the post
    # named before, and the lead names only the channel.
    text = "«Обмін відбудеться найближчим часом», — сказав він."
    line = first_line(text, person={}, role={}, gender=None, title="Новини оборони")
    assert line.endswith("«„Обмін відбудеться найближчим часом“, — сказав він».")


def test_a_pronoun_after_another_person_is_named_is_theirs() -> None:
    # Umerov's channel: "Зустрівся з Фіданом. «…», — сказав він." "він" is Fidan; the lead
    # read "Умєров сказав у Telegram: «Туреччина готова допомагати…»".
    umerov = {"person": {"uk": "Рустем Умєров"}, "role": {"uk": "секретар РНБО"}, "gender": "m"}
    said = "«Туреччина готова допомагати з обміном», — сказав він."
    text = "Зустрівся з Хаканом Фіданом в Анкарі.\n" + said
    line = first_line(text, **umerov)
    assert line.startswith("Секретар РНБО Рустем Умєров повідомив у Telegram: ")
    assert line.endswith("— сказав він».")
    # Places and his own name do not count: then "він" is he.
    own = "Умєров прибув у Києві.\n" + said
    assert first_line(own, **umerov).startswith("Секретар РНБО Рустем Умєров сказав у Telegram: «")


@pytest.mark.parametrize(
    "text",
    [
        "“The exchange will happen soon,” Carter said.",
        '"The exchange will happen soon," said John Carter.',
        "“The exchange will happen soon,” he told reporters.",
    ],
)
def test_an_english_tail_after_the_closing_quote_leaves_the_quote(text: str) -> None:
    # The English way to end a quotation, the comma inside the marks, kept the speaker's tail
    # in the quote: “‘The exchange will happen soon,’ Carter said.” from Carter himself.
    carter = {"person": {"en": "John Carter"}, "role": {"en": "U.S. Special Envoy"}, "gender": "m"}
    line = first_line(text, "en", **carter)
    assert line.endswith(": “The exchange will happen soon.”"), line
    # From another channel, Carter's words stay his.
    assert "Carter said" in first_line("“The exchange will happen soon,” Carter said.", "en")


@pytest.mark.parametrize(
    "text",
    [
        "«Ми продовжуємо роботу над обміном», — наголосив В. Гордієнко.",
        "Ми продовжуємо роботу над обміном, наголосив В. Гордієнко.",
    ],
)
def test_a_tail_naming_the_speaker_by_initial_and_surname(text: str) -> None:
    # The initial's full stop hid the tail ("— наголосив В. Гордієнко." was quoted whole).
    assert first_line(text, **PRESIDENT) == (
        "Президент України Василь Гордієнко наголосив у Telegram: "
        "«Ми продовжуємо роботу над обміном»."
    )
    assert first_line(text).endswith("наголосив В. Гордієнко».")


@pytest.mark.parametrize("caption", ["Фото дня 📸", "Дивіться відео 👇", "Одеса сьогодні"])
def test_a_photos_label_caption_is_not_quoted_as_speech(caption: str) -> None:
    # "Гайова повідомила у Telegram: «Фото дня»": a label, not something she said.
    draft = build_draft(stored(caption, media="photo"), source(), DraftOptions(lang="uk", tz=KYIV))
    assert draft.first_line() == "Секретарка РНБО Олена Гайова опублікувала фото у Telegram."
    assert draft.credit == "Фото: t.me/haiova_demo"


def test_a_caption_that_says_something_or_holds_the_rules_words_is_quoted() -> None:
    said = build_draft(
        stored("Ворог атакував Одесу вночі, пошкоджено 3 будинки.", media="photo"),
        source(),
        DraftOptions(lang="uk", tz=KYIV),
    )
    assert said.first_line().endswith("«Ворог атакував Одесу вночі, пошкоджено 3 будинки».")
    from bot.matching import Span

    ruled = build_draft(
        stored("Одеса сьогодні", media="photo"),
        source(),
        DraftOptions(lang="uk", tz=KYIV, spans=[Span(0, 4, "одеса")]),
    )
    assert ruled.first_line().endswith("«Одеса сьогодні».")


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        # Somebody else's words, named before them: she relays them ("повідомила").
        ("Марта Кінг: «Ми бачимо, як швидко Україна розгортає госпіталі». Дякую!", "повідомила"),
        ("Martha King: “Ukraine deploys hospitals fast.” Thank you!", "повідомила"),
        # Her own name before her words: they are hers ("заявила").
        ("Олена Гайова: «Ми розгортаємо госпіталі швидко». Дякую!", "заявила"),
        # A label before a quotation is no speaker.
        ("Головне: «госпіталі працюють цілодобово».", "заявила"),
        # Her own name after a title: still her words.
        ("Міністерка Гайова: «Ми розгортаємо госпіталі швидко». Дякую!", "заявила"),
        ("Minister Haiova: “We deploy hospitals fast.” Thank you!", "заявила"),
    ],
)
def test_a_quote_opened_by_someone_elses_name_is_relayed(text: str, verb: str) -> None:
    # "Марта Кінг: «…»" came as "Гайова також заявила: «Марта Кінг: „…“»": the follow-up gave
    # the minister a statement that was the WHO director's.
    update = compose_alert(
        "new",
        stored(text),
        source(),
        DraftOptions(lang="uk", tz=KYIV),
        update=True,
        thread_date=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
    )
    assert update["plain"].startswith(f"Оновлено о 18:08. Гайова також {verb}: «"), update["plain"]


MINISTER = {
    "person": {"uk": "Олена Гайова", "en": "Olena Haiova"},
    "role": {"uk": "міністерка охорони здоров'я", "en": "Minister of Health"},
    "gender": "f",
}


@pytest.mark.parametrize(
    ("text", "src", "verb"),
    [
        # A title with no name is another person: the channel relays their words.
        ("Заступниця міністра: «Ми відкриваємо ще два госпіталі». Дякую!", {}, "повідомила"),
        ("Заступниця Міністра: «Ми відкриваємо ще два госпіталі».", MINISTER, "повідомила"),
        (
            "Заступник Міністра охорони здоров'я: «Ми відкриваємо ще два госпіталі».",
            MINISTER,
            "повідомила",
        ),
        ("Заместитель министра: «Мы открываем ещё два госпиталя».", {}, "повідомила"),
        ("Речниця МОЗ: «Ми відкриваємо ще два госпіталі».", MINISTER, "повідомила"),
        ("Deputy Minister: “We are opening two more hospitals.”", MINISTER, "повідомила"),
        ("The deputy minister: “We are opening two more hospitals.”", {}, "повідомила"),
        ("Міністерка: «Ми відкриваємо ще два госпіталі».", {}, "повідомила"),
        # Her own title, alone or whole, is still her.
        ("Міністерка: «Ми відкриваємо ще два госпіталі».", MINISTER, "заявила"),
        ("Міністерка охорони здоров'я: «Ми відкриваємо ще два госпіталі».", MINISTER, "заявила"),
        ("Minister of Health: “We are opening two more hospitals.”", MINISTER, "заявила"),
        # A label is nobody.
        ("Увага: «госпіталі працюють цілодобово».", MINISTER, "заявила"),
        ("Important: “hospitals work around the clock.”", MINISTER, "заявила"),
    ],
)
def test_a_quote_opened_by_a_title_without_a_name_is_relayed(
    text: str, src: dict[str, Any], verb: str
) -> None:
    # "Заступниця Міністра: «…»" read as the minister's own statement ("Гайова також заявила"):
    # a title names a person as well as a name does, and only the speaker's own is hers.
    update = compose_alert(
        "new",
        stored(text),
        source(**src),
        DraftOptions(lang="uk", tz=KYIV),
        update=True,
        thread_date=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
    )
    assert update["plain"].startswith(f"Оновлено о 18:08. Гайова також {verb}: «"), update["plain"]
