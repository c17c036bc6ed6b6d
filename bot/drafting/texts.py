"""The words a draft prints around the quote that depend on who speaks or what was shown.

The words themselves live in the message catalogues (`bot/i18n/locales`), like every other
string a person reads; the drafting code asks for them here, passing the reader's `Translator`,
so the functions stay pure. A verb agrees with the speaker in uk/ru: each form is the same
English msgid in its own context (`pgettext`), so a translator sees "said" five times, once per
gender, and English prints "said" for all of them.
"""

from __future__ import annotations

from bot.i18n import LANGS, Translator, translator

LANG_CODES = LANGS
GENDERS = ("m", "f", "n", "pl")

# English house style (AP) for a month in a date; the other languages take CLDR's (Babel).
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


def words(lang: str) -> Translator:
    """The catalogue a draft in `lang` is written from (English for a language we lack)."""
    return translator(lang if lang in LANG_CODES else "en")


def said(tr: Translator, gender: str | None) -> str:
    """The lead's verb: "повідомив" agreeing with m, f, n or pl; when the gender is not known,
    the present tense ("повідомляє"), which agrees with any singular subject."""
    if gender == "m":
        return tr.pgettext("lead verb, masculine speaker", "said")
    if gender == "f":
        return tr.pgettext("lead verb, feminine speaker", "said")
    if gender == "n":
        return tr.pgettext("lead verb, neuter speaker", "said")
    if gender == "pl":
        return tr.pgettext("lead verb, plural speaker", "said")
    return tr.pgettext("lead verb, speaker's gender unknown (present tense)", "said")


def posted(tr: Translator, shown: str | None, gender: str | None) -> str:
    """A post with a picture and no words: nothing was said, something was shown
    ("опублікувала фото"); `shown` is "photo" or "video"."""
    if shown == "video":
        if gender == "m":
            return tr.pgettext("masculine speaker", "posted a video")
        if gender == "f":
            return tr.pgettext("feminine speaker", "posted a video")
        if gender == "n":
            return tr.pgettext("neuter speaker", "posted a video")
        if gender == "pl":
            return tr.pgettext("plural speaker", "posted a video")
        return tr.pgettext("speaker's gender unknown (present tense)", "posted a video")
    if gender == "m":
        return tr.pgettext("masculine speaker", "posted a photo")
    if gender == "f":
        return tr.pgettext("feminine speaker", "posted a photo")
    if gender == "n":
        return tr.pgettext("neuter speaker", "posted a photo")
    if gender == "pl":
        return tr.pgettext("plural speaker", "posted a photo")
    return tr.pgettext("speaker's gender unknown (present tense)", "posted a photo")


def also_said(tr: Translator, gender: str | None) -> str:
    """The verb of a follow-up or a background line ("Умєров також заявив"): past tense; when
    the gender is unknown the plural, which reads as "they at the ministry said"."""
    if gender == "m":
        return tr.pgettext("follow-up verb, masculine speaker", "said")
    if gender == "f":
        return tr.pgettext("follow-up verb, feminine speaker", "said")
    if gender == "n":
        return tr.pgettext("follow-up verb, neuter speaker", "said")
    return tr.pgettext("follow-up verb, plural speaker or gender unknown", "said")


def forwarded(tr: Translator, gender: str | None) -> str:
    """What a channel did with another's post ("Гайова переслала допис"): past tense; when the
    gender is unknown the plural, as `also_said`."""
    if gender == "m":
        return tr.pgettext("forwarder, masculine", "forwarded a post")
    if gender == "f":
        return tr.pgettext("forwarder, feminine", "forwarded a post")
    if gender == "n":
        return tr.pgettext("forwarder, neuter", "forwarded a post")
    return tr.pgettext("forwarder, plural or gender unknown", "forwarded a post")


def recall_verb(tr: Translator, gender: str | None, *, relayed: bool) -> str:
    """The verb of a line recalling a quote ("Умєров також заявив: «…»"); the lead's past-tense
    "повідомив" when the quote is somebody else's words the speaker `relayed`
    ("«…», — заявив Зеленський")."""
    if relayed:
        return said(tr, gender if gender in GENDERS else "pl")
    return also_said(tr, gender)


def on_telegram(tr: Translator, verb: str) -> str:
    """ "повідомив у Telegram" / "said on Telegram"."""
    # i18n: {verb} is a verb of the lead in this language: "said", "posted a photo", "stressed".
    return tr.gettext("{verb} on Telegram", verb=verb)


def media_word(tr: Translator, shown: str | None) -> str:
    """What a channel posted, as the object of "posted": "a photo" / "фото"."""
    if shown == "video":
        return tr.pgettext("what a channel posted", "a video")
    return tr.pgettext("what a channel posted", "a photo")


def credit_label(tr: Translator, kind: str) -> str:
    """The label of the credit line: "Фото: t.me/…"."""
    if kind == "video":
        return tr.pgettext("credit line", "Video")
    return tr.pgettext("credit line", "Photo")


def media_changed(tr: Translator, how: str, kind: str) -> str:
    """The line an edit's follow-up adds when the same edit also replaced the post's picture or
    file, or gave a post one ("Також замінено фото."): the diff shows only the words."""
    if how == "added":
        if kind == "photo":
            return tr.pgettext("edit follow-up", "A photo was added too.")
        if kind == "video":
            return tr.pgettext("edit follow-up", "A video was added too.")
        return tr.pgettext("edit follow-up", "A file was added too.")
    if kind == "photo":
        return tr.pgettext("edit follow-up", "The photo was replaced too.")
    if kind == "video":
        return tr.pgettext("edit follow-up", "The video was replaced too.")
    return tr.pgettext("edit follow-up", "The file was replaced too.")
