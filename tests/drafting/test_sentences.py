"""Sentence splitting and quote choice: offsets into the original text, never a cut sentence."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.drafting.sentences import choose_quote, split_sentences


@dataclass(frozen=True)
class Mark:
    start: int
    end: int


def texts(text: str) -> list[str]:
    return [s.text(text) for s in split_sentences(text)]


def quote(text: str, spans: list[Mark] | None = None) -> str:
    chosen = choose_quote(text, spans or [])
    assert chosen is not None
    return text[chosen[0] : chosen[1]]


def mark(text: str, word: str, nth: int = 0) -> Mark:
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(word, pos + 1)
    return Mark(pos, pos + len(word))


def test_plain_sentences_split_on_terminal_punctuation() -> None:
    text = "Провели нараду з партнерами. Чи буде рішення? Так, буде! Чекаємо…  Далі буде."
    assert texts(text) == [
        "Провели нараду з партнерами.",
        "Чи буде рішення?",
        "Так, буде!",
        "Чекаємо…",
        "Далі буде.",
    ]


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    text = (
        "Зустрілися з І. Ф. Коваленком на вул. Садовій, див. ст. 5 угоди. "
        "Наступна зустріч у м. Львові. Mr. J. Doe met Dr. Ray in the U.S. on Monday. "
        "В.о. міністра т.зв. реформу схвалив. Встречу провели в г. Днепре."
    )
    assert texts(text) == [
        "Зустрілися з І. Ф. Коваленком на вул. Садовій, див. ст. 5 угоди.",
        "Наступна зустріч у м. Львові.",
        "Mr. J. Doe met Dr. Ray in the U.S. on Monday.",
        "В.о. міністра т.зв. реформу схвалив.",
        "Встречу провели в г. Днепре.",
    ]


def test_numbers_and_amounts() -> None:
    text = "Виділено 3.5 млрд грн. Курс 41,2. Зустріч о 18.30 у залі 2. 12 людей прийшли."
    assert texts(text) == [
        "Виділено 3.5 млрд грн.",
        "Курс 41,2.",
        "Зустріч о 18.30 у залі 2.",
        "12 людей прийшли.",
    ]


def test_quotes_inside_quotes_keep_the_sentence_whole() -> None:
    uk = "Міністр сказав: «Ми назвали це „планом стійкості“. Він працює!» Потім пішов."
    assert texts(uk) == [
        "Міністр сказав: «Ми назвали це „планом стійкості“. Він працює!»",
        "Потім пішов.",
    ]
    en = "She said: “We call it ‘the plan’. It works.” Then she left."
    assert texts(en) == ["She said: “We call it ‘the plan’. It works.”", "Then she left."]
    ascii_quotes = 'Він заявив: "Ми готові. Чекаємо." Це було вчора.'
    assert texts(ascii_quotes) == ['Він заявив: "Ми готові. Чекаємо."', "Це було вчора."]


def test_unclosed_quote_does_not_swallow_the_next_line() -> None:
    text = "Він сказав: «без кінця. Ще речення.\nНовий рядок тут."
    assert texts(text)[-1] == "Новий рядок тут."


def test_emoji_lines_and_trailing_emoji() -> None:
    text = (
        "🔴 Увага\nРакетна небезпека у місті. Пройдіть в укриття! 👇\n\nМи вистояли 🇺🇦 Дякую всім."
    )
    assert texts(text) == [
        "🔴 Увага",
        "Ракетна небезпека у місті.",
        "Пройдіть в укриття! 👇",
        "Ми вистояли 🇺🇦",
        "Дякую всім.",
    ]
    # An emoji inside a phrase is not an end.
    assert texts("Зустріч з 🇺🇸 Президентом США відбулася.") == [
        "Зустріч з 🇺🇸 Президентом США відбулася."
    ]


def test_rtl_marks_and_odd_spaces_are_kept_inside_offsets() -> None:
    text = "\u200fПерше речення.\u00a0Друге речення.\u200e"
    spans = split_sentences(text)
    assert [s.text(text) for s in spans][-1].startswith("Друге")
    assert all(text[s.start : s.end] == s.text(text) for s in spans)


def test_one_giant_sentence_is_one_sentence() -> None:
    text = " ".join(["слово"] * 3000)
    assert [(s.start, s.end) for s in split_sentences(text)] == [(0, len(text))]


def test_choose_quote_prefers_the_sentence_with_most_matched_words() -> None:
    text = (
        "Сьогодні провели нараду. Обговорили постачання ППО та енергетику. "
        "Окремо говорили про ППО. Дякую партнерам."
    )
    got = quote(text, [mark(text, "ППО"), mark(text, "енергетику"), mark(text, "ППО", 1)])
    # The second sentence holds two distinct words, the third one; both are neighbours.
    assert got == "Обговорили постачання ППО та енергетику. Окремо говорили про ППО."


def test_choose_quote_does_not_join_sentences_across_lines() -> None:
    text = "Заголовок про ППО\nПостачання ППО триває. Інше речення."
    # A heading holds the word too, but says less than the sentence under it.
    assert quote(text, [mark(text, "ППО"), mark(text, "ППО", 1)]) == "Постачання ППО триває."


def test_choose_quote_without_spans_takes_the_opening() -> None:
    text = "⚡️\nКоротко.\nУряд ухвалив рішення про нові виплати. Деталі згодом. Ще речення тут."
    # Skips the emoji and the one-word line: the first sentence that says something.
    assert quote(text) == "Уряд ухвалив рішення про нові виплати."
    long_first = "Уряд ухвалив рішення про нові виплати " + "і ще багато слів " * 8 + ". Друге."
    assert quote(long_first).endswith("слів .")


def test_choose_quote_of_nothing_is_none() -> None:
    assert choose_quote("") is None
    assert choose_quote("  \n ") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('аБв. !?«»„“"\n🇺🇦 1Ab.')), max_size=200))
def test_sentences_are_ordered_trimmed_slices(text: str) -> None:
    prev = 0
    for s in split_sentences(text):
        assert prev <= s.start < s.end <= len(text)
        piece = text[s.start : s.end]
        assert piece == piece.strip() and piece
        assert "\n" not in piece
        prev = s.end
    # Nothing but whitespace is left out.
    covered = "".join(s.text(text) for s in split_sentences(text))
    assert "".join(text.split()) == "".join(covered.split())


def test_choose_quote_stops_at_three_sentences_when_every_one_holds_the_word() -> None:
    # A briefing that names the rule's word in each line: the quote stays a quote, not the post.
    text = (
        "Енергетики працюють цілодобово. Енергетики відновили живлення на Київщині. "
        "Енергетики ремонтують підстанції на Одещині. Енергетики просять економити ввечері. "
        "Енергетики дякують громадам. Енергетики звітуватимуть завтра."
    )
    spans = [mark(text, "Енергетики", n) for n in range(6)]
    got = quote(text, spans)
    assert len(split_sentences(got)) == 3
    assert text.startswith(got)


def test_a_one_letter_word_ends_a_sentence_but_an_initial_does_not() -> None:
    # A lowercase one-letter word ("є", "я", "і", "a") closes a sentence like any other word;
    # a capital letter before a surname or another initial is an initial.
    assert texts("Рішення є. Далі працюємо.") == ["Рішення є.", "Далі працюємо."]
    assert texts("Хто відповідає? Це я. Інше обговоримо завтра.") == [
        "Хто відповідає?",
        "Це я.",
        "Інше обговоримо завтра.",
    ]
    assert texts("Кто подписал? Это я. Остальное завтра.")[1:] == ["Это я.", "Остальное завтра."]
    assert texts("Підписав В. Зеленський. Указ набув чинності.") == [
        "Підписав В. Зеленський.",
        "Указ набув чинності.",
    ]
    assert texts("Вірш написав Т. Г. Шевченко.") == ["Вірш написав Т. Г. Шевченко."]
    assert texts("So do I. Then we voted.") == ["So do I.", "Then we voted."]
    assert texts("We met with I. Smith today.") == ["We met with I. Smith today."]
    # One-letter abbreviations stay: том, пункт, частина, острів, корпус, век.
    for kept in (
        "Див. т. 2 збірника.",
        "Згідно з п. 3 ч. 2 ст. 5 закону.",
        "Бої на о. Зміїний тривали.",
        "Адрес: д. 5, к. 2 на проспекте.",
        "В XX в. Киев вырос.",
    ):
        assert texts(kept) == [kept]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A capital letter after a label ("пункт Б", "plan B") or before a word no surname is
        # (an adverb, a pronoun, a verb, a conjunction) ends the sentence: it is no initial.
        (
            "Друге — пункт Б. Далі уряд перегляне тарифи.",
            ["Друге — пункт Б.", "Далі уряд перегляне тарифи."],
        ),
        (
            "Резервом лишається варіант В. Він дорожчий на 12%.",
            ["Резервом лишається варіант В.", "Він дорожчий на 12%."],
        ),
        (
            "Уряд затвердив план Б. Виплати почнуться в січні.",
            ["Уряд затвердив план Б.", "Виплати почнуться в січні."],
        ),
        (
            "Подано заявку за формою А. Однако сроки не определены.",
            ["Подано заявку за формою А.", "Однако сроки не определены."],
        ),
        (
            "The council chose option C. We will publish the details tomorrow.",
            ["The council chose option C.", "We will publish the details tomorrow."],
        ),
        # "і т.д." and "и т.п." end a list and, before a capital, the sentence.
        (
            "Обговорили енергетику, ППО і т.д. Далі — подробиці.",
            ["Обговорили енергетику, ППО і т.д.", "Далі — подробиці."],
        ),
        (
            "Обсудили энергетику, ПВО и т.п. Подробности позже.",
            ["Обсудили энергетику, ПВО и т.п.", "Подробности позже."],
        ),
        ("Закупили генератори, т.зв. Старлінки і т.д. для лікарень.", None),
        # Initials stay with the name, whatever word the name is.
        (
            "Указ підписав О. Мороз. Документ набуде чинності завтра.",
            ["Указ підписав О. Мороз.", "Документ набуде чинності завтра."],
        ),
        ("Зустрілася з В. Зеленським і Т. Г. Коваль у Києві.", None),
        ("The letter was signed by J. R. Smith on Monday.", None),
        ("We thanked our partner J. Smith for the support.", None),
        ("Уряд планує В. Петренка призначити послом.", None),
        ("Лист підписали О. І. Коваль та J. A. Stone.", None),
    ],
)
def test_a_lettered_point_is_no_initial(text: str, expected: list[str] | None) -> None:
    got = [s.text(text) for s in split_sentences(text)]
    assert got == (expected or [text])


def test_a_heading_that_holds_the_rules_words_lends_them_to_what_follows() -> None:
    # The rule's words were only in the heading: the draft quoted the post's weightiest
    # sentence, from another section (the power cuts), or the bare heading «Обмін полоненими».
    # The heading names what the lines under it are about.
    text = (
        "Обмін полоненими\n\n🇺🇦🇺🇦🇺🇦\n\n1. Додому повернулися 150 захисників з полону.\n"
        "2. Серед них 20 цивільних.\n3. Наступний етап — у грудні.\n\n"
        "Енергетика\nГрафіки відключень скасовано в 5 областях до кінця цього тижня."
    )
    start = text.index("Обмін")
    chosen = choose_quote(text, [Mark(start, start + 16)])
    assert chosen is not None
    assert text[chosen[0] : chosen[1]] == "Додому повернулися 150 захисників з полону."
    # A heading with nothing under it is still what there is to quote.
    alone = "Обмін полоненими"
    assert choose_quote(alone, [Mark(0, 16)]) == (0, 16)


def test_a_short_first_sentence_is_no_heading_when_its_line_goes_on() -> None:
    # "Обмін полоненими! 🇺🇦" opens a one-line post: it was scored as a heading (its own
    # line, no full stop after the flag), so the quote left out the rule's own sentence.
    text = "Обмін полоненими! 🇺🇦 Повернулися 150 захисників!!! Слава Україні!"
    chosen = choose_quote(text, [Mark(0, 5)])
    assert chosen is not None
    assert text[chosen[0] : chosen[1]] == "Обмін полоненими! 🇺🇦 Повернулися 150 захисників!!!"


def test_a_post_in_capitals_is_not_a_row_of_names() -> None:
    # Every word of an all-capitals post is capitalised: it read as a name-only line and the
    # figure beside the rule's words was left out («ОБМІН ПОЛОНЕНИМИ»).
    text = "ОБМІН ПОЛОНЕНИМИ. ПОВЕРНУЛИСЯ 150 ЗАХИСНИКІВ."
    chosen = choose_quote(text, [Mark(0, 5)])
    assert chosen is not None
    assert text[chosen[0] : chosen[1]] == text
