"""Every word a draft prints around the quote, per draft language (uk, en, ru).

One module on purpose: the drafting code looks words up here and nowhere else, so moving these
tables into message catalogues later touches one file.
"""

from __future__ import annotations

LANG_CODES = ("uk", "en", "ru")

# Past tense agrees with the speaker's gender and number in uk/ru. When the gender is not
# known, the present tense ("повідомляє", "сообщает") agrees with any singular subject.
SAID: dict[str, dict[str | None, str]] = {
    "uk": {
        "m": "повідомив у Telegram",
        "f": "повідомила у Telegram",
        "n": "повідомило у Telegram",
        "pl": "повідомили у Telegram",
        None: "повідомляє у Telegram",
    },
    "ru": {
        "m": "сообщил в Telegram",
        "f": "сообщила в Telegram",
        "n": "сообщило в Telegram",
        "pl": "сообщили в Telegram",
        None: "сообщает в Telegram",
    },
    "en": {None: "said on Telegram"},
}

# A post with a photo and no text: nothing was said, something was shown.
POSTED_PHOTO: dict[str, dict[str | None, str]] = {
    "uk": {
        "m": "опублікував фото у Telegram",
        "f": "опублікувала фото у Telegram",
        "n": "опублікувало фото у Telegram",
        "pl": "опублікували фото у Telegram",
        None: "публікує фото у Telegram",
    },
    "ru": {
        "m": "опубликовал фото в Telegram",
        "f": "опубликовала фото в Telegram",
        "n": "опубликовало фото в Telegram",
        "pl": "опубликовали фото в Telegram",
        None: "публикует фото в Telegram",
    },
    "en": {None: "posted a photo on Telegram", "pl": "posted a photo on Telegram"},
}
POSTED_VIDEO: dict[str, dict[str | None, str]] = {
    "uk": {
        "m": "опублікував відео у Telegram",
        "f": "опублікувала відео у Telegram",
        "n": "опублікувало відео у Telegram",
        "pl": "опублікували відео у Telegram",
        None: "публікує відео у Telegram",
    },
    "ru": {
        "m": "опубликовал видео в Telegram",
        "f": "опубликовала видео в Telegram",
        "n": "опубликовало видео в Telegram",
        "pl": "опубликовали видео в Telegram",
        None: "публикует видео в Telegram",
    },
    "en": {None: "posted a video on Telegram"},
}

# Only a channel's title or username is known: an impersonal plural needs no gender.
CHANNEL_SAID = {
    "uk": "У Telegram-каналі {name} повідомили",
    "ru": "В Telegram-канале {name} сообщили",
    "en": "The Telegram channel {name} said",
}
CHANNEL_POSTED = {
    "uk": "У Telegram-каналі {name} опублікували {what}",
    "ru": "В Telegram-канале {name} опубликовали {what}",
    "en": "The Telegram channel {name} posted {what}",
}
MEDIA_WORD = {
    "photo": {"uk": "фото", "ru": "фото", "en": "a photo"},
    "video": {"uk": "відео", "ru": "видео", "en": "a video"},
}

UPDATED = {"uk": "Оновлено о {t}", "ru": "Обновлено в {t}", "en": "Updated at {t}"}
DELETED = {"uk": "Допис видалено о {t}", "ru": "Пост удалён в {t}", "en": "Post deleted at {t}"}
DELETED_NO_TIME = {"uk": "Допис видалено", "ru": "Пост удалён", "en": "Post deleted"}
LAST_TEXT = {
    "uk": "Останній збережений текст",
    "ru": "Последний сохранённый текст",
    "en": "Last stored text",
}
CHANGES = {"uk": "Що змінилося:", "ru": "Что изменилось:", "en": "What changed:"}
NO_TEXT = {"uk": "(допис без тексту)", "ru": "(пост без текста)", "en": "(post without text)"}
MORE_CHANGES = {
    "uk": "…і ще змін: {n}",
    "ru": "…и ещё изменений: {n}",
    "en": "…and {n} more changes",
}
CREDIT = {
    "photo": {"uk": "Фото", "ru": "Фото", "en": "Photo"},
    "video": {"uk": "Відео", "ru": "Видео", "en": "Video"},
}

# Dates and times.
YEAR_WORD = {"uk": "року", "ru": "года"}
HOME_TIME = {
    "uk": "{t} за київським часом",
    "ru": "{t} по киевскому времени",
    "en": "{t} Kyiv time",
}
AP_MONTHS = (
    "Jan.",
    "Feb.",
    "March",
    "April",
    "May",
    "June",
    "July",
    "Aug.",
    "Sept.",
    "Oct.",
    "Nov.",
    "Dec.",
)
FULL_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# The update paragraph of a threaded follow-up: "Updated at 6:08 p.m. Umerov also said: …".
# {head} is UPDATED with its full stop ("Updated at 6:08 p.m.").
UPDATE_PARAGRAPH = {
    "uk": "{head} {who} також {verb}: {quote}",
    "ru": "{head} {who} также {verb}: {quote}",
    "en": "{head} {who} also said: {quote}",
}
# Only the channel is known (no person, no role): the impersonal plural, as in CHANNEL_SAID.
UPDATE_CHANNEL = {
    "uk": "{head} У каналі {name} також повідомили: {quote}",
    "ru": "{head} В канале {name} также сообщили: {quote}",
    "en": "{head} The channel {name} also said: {quote}",
}
UPDATE_CHANNEL_POSTED = {
    "uk": "{head} У каналі {name} також опублікували {what}.",
    "ru": "{head} В канале {name} также опубликовали {what}.",
    "en": "{head} The channel {name} also posted {what}.",
}
# The past tense agrees with the speaker: when the gender is unknown (and no dictionary tells
# it from the name or the role), the plural, which reads as "they at the ministry said".
ALSO_VERB: dict[str, dict[str | None, str]] = {
    "uk": {"m": "заявив", "f": "заявила", "n": "заявило", "pl": "заявили", None: "заявили"},
    "ru": {"m": "заявил", "f": "заявила", "n": "заявило", "pl": "заявили", None: "заявили"},
    "en": {None: "said"},
}

# Background: older posts on the same topic.
EARLIER = {"uk": "Раніше:", "ru": "Ранее:", "en": "Earlier:"}
EARLIER_ITEM = {
    "uk": "{day} {who} {verb}: {quote}",
    "ru": "{day} {who} {verb}: {quote}",
    "en": "On {day}, {who} said: {quote}",
}
EARLIER_CHANNEL_ITEM = {
    "uk": "{day} в каналі {name} повідомили: {quote}",
    "ru": "{day} в канале {name} сообщили: {quote}",
    "en": "On {day}, the channel {name} said: {quote}",
}
EARLIER_CHANNEL_PHOTO = {
    "uk": "{day} в каналі {name} опублікували {what}.",
    "ru": "{day} в канале {name} опубликовали {what}.",
    "en": "On {day}, the channel {name} posted {what}.",
}
EARLIER_PHOTO = {
    "uk": "{day} {who} {what}.",
    "ru": "{day} {who} {what}.",
    "en": "On {day}, {who} {what}.",
}

# Translation.
TRANSLATION = {
    "uk": "Неофіційний переклад — перевірте перед використанням",
    "ru": "Неофициальный перевод — проверьте перед использованием",
    "en": "Unofficial translation — check before use",
}
NO_TRANSLATION = {
    "uk": "Переклад недоступний ({why}); цитата — мовою оригіналу",
    "ru": "Перевод недоступен ({why}); цитата — на языке оригинала",
    "en": "Translation unavailable ({why}); the quote is in the original language",
}
TRANSLATION_FOLLOWS = {
    "uk": "Машинний переклад цитати надійде окремим повідомленням.",
    "ru": "Машинный перевод цитаты придёт отдельным сообщением.",
    "en": "A machine translation of the quote follows as a reply.",
}
NAMES = {"uk": "Імена:", "ru": "Имена:", "en": "Names:"}
RULE_FIRED = {"uk": "Правило", "ru": "Правило", "en": "Rule"}

# Words read from a picture the post carries (OCR): reported as what the image says, never
# quoted as the official's own words.
IMAGE_READS = {
    "uk": "На зображенні написано",
    "en": "The image reads",
    "ru": "На изображении написано",
}
