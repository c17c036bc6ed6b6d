"""The draft a journalist pastes: who said it, the exact words, when, where.

Pure functions over data. The draft is written in the journalist's language (uk/en/ru); the quote
stays in the post's own language and is always a verbatim slice of the post text, chosen by
`bot.drafting.sentences.choose_quote`. Dates are formatted by Babel (CLDR), which knows the
genitive month names Ukrainian and Russian need ("24 листопада", "24 ноября").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.drafting.html import Run, highlight, join_runs
from bot.drafting.sentences import SpanLike, choose_quote
from storage.records import SourceError, parse_permalink

LANG_CODES = ("uk", "en", "ru")


class PostLike(Protocol):
    """What a draft needs of a post (storage.models.StoredPost satisfies it)."""

    @property
    def channel(self) -> str: ...
    @property
    def message_id(self) -> int: ...
    @property
    def date(self) -> datetime: ...
    @property
    def text(self) -> str: ...
    @property
    def media(self) -> str | None: ...
    @property
    def forward_from(self) -> str | None: ...
    @property
    def forward_link(self) -> str | None: ...
    @property
    def edit_date(self) -> datetime | None: ...
    @property
    def permalink(self) -> str: ...


class SourceLike(Protocol):
    """What attribution needs of a source (storage.models.Source satisfies it)."""

    @property
    def username(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def gender(self) -> str | None: ...
    @property
    def person(self) -> Mapping[str, str | None]: ...
    @property
    def role(self) -> Mapping[str, str | None]: ...


def _lang(lang: str) -> str:
    return lang if lang in LANG_CODES else "en"


# -- attribution ----------------------------------------------------------------------------

# Past tense agrees with the speaker's gender in uk/ru. When the gender is not known, the
# present tense ("повідомляє", "сообщает") agrees with any singular subject, person or
# institution, so nobody is misgendered and "Міноборони" does not become masculine.
_SAID: dict[str, dict[str | None, str]] = {
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

# Only a channel's title or username is known: an impersonal plural needs no gender and no case
# ending on a name we cannot decline.
_CHANNEL_SAID = {
    "uk": "У Telegram-каналі {name} повідомили",
    "ru": "В Telegram-канале {name} сообщили",
    "en": "The Telegram channel {name} said",
}

_QUOTES = {"uk": ("«", "»"), "ru": ("«", "»"), "en": ("“", "”")}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pick(values: Mapping[str, str | None], lang: str) -> str | None:
    """The value in `lang`, else in another language we have (a name is better than none)."""
    value = values.get(lang)
    if value and value.strip():
        return value.strip()
    for other in LANG_CODES:
        candidate = values.get(other)
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def said_verb(lang: str, gender: str | None) -> str:
    table = _SAID[_lang(lang)]
    return table.get(gender if gender in ("m", "f", "n", "pl") else None, table[None])


def channel_label(name: str, lang: str) -> str:
    """`@user` stays as is; a title is put in quotation marks of the draft's language."""
    if name.startswith("@"):
        return name
    left, right = _QUOTES[_lang(lang)]
    return f"{left}{name}{right}"


def attribution_lead(source: SourceLike | None, lang: str, *, channel: str | None = None) -> str:
    """The lead without the final colon: role + name + "said on Telegram" in `lang`.

    Person and role: "Секретар РНБО Іван Петренко повідомив у Telegram" (uk/ru), "Ivan Petrenko,
    Secretary of ..., said on Telegram" (en: a long role reads better after the name). Role only
    (an institution): "Генштаб ЗСУ повідомив у Telegram". Neither: the channel by title or @name.
    """
    lang = _lang(lang)
    if source is not None:
        person = _pick(source.person, lang)
        role = _pick(source.role, lang)
        verb = said_verb(lang, source.gender)
        if person and role:
            if lang == "en":
                return f"{person}, {role}, {verb}"
            return f"{_cap(role)} {person} {verb}"
        if person or role:
            return f"{_cap(person or role or '')} {verb}"
        name = channel_label(source.title, lang) if source.title else f"@{source.username}"
        return _CHANNEL_SAID[lang].format(name=name)
    return _CHANNEL_SAID[lang].format(name=channel_label(channel or "?", lang))


# -- time -----------------------------------------------------------------------------------

_UPDATED = {"uk": "Оновлено о {t}", "ru": "Обновлено в {t}", "en": "Updated at {t}"}
_DELETED = {
    "uk": "Допис видалено о {t}",
    "ru": "Пост удалён в {t}",
    "en": "Post deleted at {t}",
}
_LAST_TEXT = {
    "uk": "Останній збережений текст",
    "ru": "Последний сохранённый текст",
    "en": "Last stored text",
}
_CHANGES = {"uk": "Що змінилося:", "ru": "Что изменилось:", "en": "What changed:"}
_NO_TEXT = {"uk": "(допис без тексту)", "ru": "(пост без текста)", "en": "(post without text)"}


def format_when(moment: datetime, tz: str, lang: str, *, now: datetime | None = None) -> str:
    """ "18:08, 24 листопада" / "18:08, 24 November" / "18:08, 24 ноября" in zone `tz`; with the
    year ("24 листопада 2024") when `now` is given and falls in another year, so an old post
    pasted into today's article does not read as this year's."""
    zone = ZoneInfo(tz)
    pattern = "HH:mm, d MMMM"
    if now is not None and moment.astimezone(zone).year != now.astimezone(zone).year:
        pattern = "HH:mm, d MMMM y"
    return format_datetime(moment, pattern, tzinfo=zone, locale=_lang(lang))


def format_clock(moment: datetime, tz: str) -> str:
    return format_datetime(moment, "HH:mm", tzinfo=ZoneInfo(tz), locale="en")


def updated_line(moment: datetime, tz: str, lang: str) -> str:
    return _UPDATED[_lang(lang)].format(t=format_clock(moment, tz))


def deleted_line(moment: datetime, tz: str, lang: str) -> str:
    return _DELETED[_lang(lang)].format(t=format_when(moment, tz, lang))


def last_text_label(lang: str) -> str:
    return _LAST_TEXT[_lang(lang)]


def changes_label(lang: str) -> str:
    return _CHANGES[_lang(lang)]


# -- credit and origin ----------------------------------------------------------------------

_CREDIT = {
    "photo": {"uk": "Фото", "ru": "Фото", "en": "Photo"},
    "video": {"uk": "Відео", "ru": "Видео", "en": "Video"},
}
_MEDIA_KIND = {
    "photo": "photo",
    "video": "video",
    "gif": "video",
    "animation": "video",
    "round": "video",
    "video_note": "video",
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Whom a post is attributed to and where it is cited: the forward origin when forwarded."""

    username: str | None  # the channel to credit, when known
    name: str | None  # the origin's title when only that is known
    link: str  # permalink to cite
    forwarded: bool


def origin_of(post: PostLike) -> Origin:
    if not post.forward_from and not post.forward_link:
        return Origin(post.channel, None, post.permalink, False)
    username: str | None = None
    link = post.permalink
    if post.forward_link:
        try:
            username, msg_id = parse_permalink(post.forward_link)
            link = f"https://t.me/{username}/{msg_id}"
        except SourceError:
            username = None
    name = post.forward_from
    if username is None and name and name.startswith("@"):
        username = name[1:].lower()
    return Origin(username, name, link, True)


def credit_line(post: PostLike, lang: str, origin: Origin | None = None) -> str | None:
    """ "Фото: t.me/<username>" for a post with a photo (Відео/Video for video), else None."""
    kind = _MEDIA_KIND.get((post.media or "").lower())
    if kind is None:
        return None
    origin = origin or origin_of(post)
    label = _CREDIT[kind][_lang(lang)]
    if origin.username:
        return f"{label}: t.me/{origin.username}"
    return f"{label}: {origin.name or 't.me/' + post.channel}"


# -- the draft ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    lead: str  # without the colon
    quote: str | None  # verbatim slice of the post text
    quote_start: int
    quote_end: int
    open_quote: str
    close_quote: str
    when: str
    link: str
    credit: str | None
    spans: tuple[tuple[int, int], ...] = field(default=())  # matched words inside the quote

    def first_line(self) -> str:
        if self.quote is None:
            return f"{self.lead}."
        return f"{self.lead}: {self.open_quote}{self.quote}{self.close_quote}"

    def meta_line(self) -> str:
        return f"{self.when} · {self.link}"

    def plain(self) -> str:
        """What gets pasted."""
        lines = [self.first_line(), self.meta_line()]
        if self.credit:
            lines.append(self.credit)
        return "\n".join(lines)

    def runs(self, tag: Literal["b", "u"] = "b") -> list[Run]:
        """The same draft as formatted runs, matched words in the quote highlighted."""
        if self.quote is None:
            first: list[Run] = [Run(f"{self.lead}.")]
        else:
            marked = highlight(
                self.quote, [_Mark(a, b) for a, b in self.spans], tag, offset=self.quote_start
            )
            first = join_runs(f"{self.lead}: {self.open_quote}", marked, self.close_quote)
        tail = "\n" + self.meta_line() + (f"\n{self.credit}" if self.credit else "")
        return join_runs(first, tail)


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int


def build_draft(
    post: PostLike,
    source: SourceLike | None,
    *,
    lang: str,
    tz: str,
    spans: Iterable[SpanLike] = (),
    origin_source: SourceLike | None = None,
    origin_date: datetime | None = None,
    now: datetime | None = None,
) -> Draft:
    """The draft of `post` for a journalist reading `lang` in zone `tz`.

    A forwarded post is attributed to its origin: `origin_source` when the caller knows that
    channel as a source, else the origin's @name or title; never to the forwarder. Its time is
    the original's (`origin_date`) when the caller has the original stored.
    """
    lang = _lang(lang)
    text = post.text or ""
    marks = [(s.start, s.end) for s in spans if 0 <= s.start < s.end <= len(text)]
    origin = origin_of(post)
    if origin.forwarded:
        if origin_source is not None:
            lead = attribution_lead(origin_source, lang)
        else:
            label = f"@{origin.username}" if origin.username else (origin.name or "?")
            lead = attribution_lead(None, lang, channel=label)
    else:
        lead = attribution_lead(source, lang, channel=f"@{post.channel}")
    chosen = choose_quote(text, [_Mark(a, b) for a, b in marks])
    left, right = _QUOTES[lang]
    if chosen is None:
        quote, qa, qb = None, 0, 0
    else:
        qa, qb = chosen
        quote = text[qa:qb]
    inside = tuple((a, b) for a, b in marks if a < qb and b > qa)
    return Draft(
        lead=lead,
        quote=quote,
        quote_start=qa,
        quote_end=qb,
        open_quote=left,
        close_quote=right,
        when=format_when(
            origin_date if origin.forwarded and origin_date else post.date, tz, lang, now=now
        ),
        link=origin.link,
        credit=credit_line(post, lang, origin),
        spans=inside,
    )


def no_text_label(lang: str) -> str:
    return _NO_TEXT[_lang(lang)]
