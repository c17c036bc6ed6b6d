"""Command words a person may type in either alphabet (/help lists them): every parser takes
the same set, so `вимк` turns off quiet hours, the digest and a pause alike."""

from __future__ import annotations

YES_WORDS = {"yes", "y", "true", "1", "так", "да"}
NO_WORDS = {"no", "n", "false", "0", "ні", "нет"}
OFF_WORDS = {"off", "no", "none", "вимк", "вимкнути", "выкл", "выключить", "ні", "нет", "-"}
ON_WORDS = {"on", "yes", "увімк", "увімкнути", "вкл", "включить", "так", "да"}
DAILY_WORDS = {"daily", "щодня", "ежедневно"}
FOREVER_WORDS = {"forever", "always", "назавжди", "завжди", "навсегда", "всегда"}
# /search since:/until: a day named by its distance from today.
DAY_WORDS = {
    **dict.fromkeys(("today", "сьогодні", "сегодня"), 0),
    **dict.fromkeys(("yesterday", "вчора", "учора", "вчера"), 1),
}
# Months and spans as people write dates in words (uk, ru, en; "з 1 листопада", "за тиждень").
DATE_NAMES = (
    "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
    "жовтня", "листопада", "грудня", "січень", "лютий", "березень", "квітень", "травень",
    "червень", "липень", "серпень", "вересень", "жовтень", "листопад", "грудень",
    "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
    "октября", "ноября", "декабря", "январь", "февраль", "март", "апрель", "май", "июнь", "июль",
    "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "week", "month",
    "тиждень", "тижня", "місяць", "місяця", "неделя", "недели", "неделю", "месяц", "месяца",
)  # fmt: skip
# Duration units, to seconds: 30m = 30хв = 30мин, 2h = 2год = 2ч, 1d = 1д = 1дн, 1w = 1тиж = 1нед.
DURATION_UNITS = {
    **dict.fromkeys(("w", "wk", "week", "weeks", "т", "тиж", "тижд", "тиждень", "тижні"), 604800),
    **dict.fromkeys(("тижнів", "нед", "неделя", "недели", "недель"), 604800),
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дні", "днів", "дня", "дней"), 86400),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "год", "година", "годин"), 3600),
    **dict.fromkeys(("години", "ч", "час", "часа", "часов"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "хв", "хвилин", "хвилини"), 60),
    **dict.fromkeys(("м", "мин", "минут", "минуты"), 60),
}
# /glossary add: the kind of an entry.
KIND_WORDS = {
    **dict.fromkeys(("person", "особа", "людина", "персона", "лицо", "человек"), "person"),
    **dict.fromkeys(("place", "місце", "место"), "place"),
    **dict.fromkeys(("institution", "установа", "організація", "учреждение"), "institution"),
    **dict.fromkeys(("организация",), "institution"),
}
# /lang and /people: the language and role words in either alphabet, to the code's name.
LANG_WORDS = {
    **dict.fromkeys(("uk", "ua", "укр", "українська", "украинский", "ukrainian"), "uk"),
    **dict.fromkeys(("en", "англ", "english", "англійська", "английский"), "en"),
    **dict.fromkeys(("ru", "рос", "рус", "русский", "російська", "russian"), "ru"),
}
ROLE_WORDS = {
    **dict.fromkeys(("journalist", "журналіст", "журналист"), "journalist"),
    **dict.fromkeys(("editor", "редактор"), "editor"),
    **dict.fromkeys(("admin", "адмін", "админ", "адміністратор", "администратор"), "admin"),
}
RULE_VERBS = {
    "add": "add",
    "додати": "add",
    "добавить": "add",
    "my": "my",
    "моє": "my",
    "мое": "my",
    "remove": "remove",
    "видалити": "remove",
    "удалить": "remove",
    "test": "test",
    "перевірити": "test",
    "проверить": "test",
}
GLOSSARY_VERBS = {
    "додати": "add",
    "добавить": "add",
    "видалити": "remove",
    "удалить": "remove",
}
PEOPLE_VERBS = {
    "add": "add",
    "додати": "add",
    "добавить": "add",
    "remove": "remove",
    "видалити": "remove",
    "удалить": "remove",
}
