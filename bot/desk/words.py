"""Command words a person may type in either alphabet (/help lists them): every parser takes
the same set, so `вимк` turns off quiet hours, the digest and a pause alike."""

from __future__ import annotations

OFF_WORDS = {"off", "no", "none", "вимк", "вимкнути", "выкл", "выключить", "-"}
ON_WORDS = {"on", "yes", "увімк", "увімкнути", "вкл", "включить"}
DAILY_WORDS = {"daily", "щодня", "ежедневно"}
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
