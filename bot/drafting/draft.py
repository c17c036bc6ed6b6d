"""The draft a journalist pastes: who said it, the exact words, when, where.

Pure functions over data. The draft is written in the journalist's language (uk/en/ru); the quote
stays in the post's own language and is always a verbatim slice of the post text, chosen by
`bot.drafting.sentences.choose_quote` and printed in house style (`bot.drafting.quotes`). Dates
and times follow each language's newsroom style (`bot.drafting.style`); every word around the
quote comes from the message catalogues, through `bot.drafting.texts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from translitua import RussianInternationalPassport, UkrainianKMU, translit

from bot.drafting import quotes, texts
from bot.drafting.glossary import Entry
from bot.drafting.html import Run, join_runs
from bot.drafting.quotes import MARKS, StyledQuote, post_language, speaker_verb, style_quote
from bot.drafting.roles import SourceLike, foreign, localized, role_in
from bot.drafting.sentences import SpanLike, choose_quote
from bot.drafting.speakers import Speaker
from bot.drafting.style import (
    DEFAULT_STYLE,
    HouseStyle,
    clock_beside,
    edited_note,
    when,
)
from bot.matching.lemmas import grammatical_gender
from storage.records import SourceError, parse_permalink

LANG_CODES = texts.LANG_CODES
GENDERS = texts.GENDERS


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


def _lang(lang: str) -> str:
    return lang if lang in LANG_CODES else "en"


# -- attribution ----------------------------------------------------------------------------


def _cap(text: str) -> str:
    # A role marked for translation ("[секретар РНБО]") is capitalised inside its bracket.
    at = 1 if text[:1] == "[" else 0
    return text[: at + 1].upper() + text[at + 1 :]


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


def short_role(source: SourceLike, lang: str) -> str | None:
    """The role a second reference uses: the short role in `lang`, else the role in `lang`,
    and only then either in another language (a full role in the reader's language reads
    better than a short one in another, which is marked "[…]" for translation)."""
    for values in (source.short_role, source.role):
        value = values.get(lang)
        if value and value.strip():
            return value.strip()
    return role_in(source.short_role, lang) or role_in(source.role, lang)


def person_name(source: SourceLike, lang: str) -> str | None:
    """The speaker's name for a draft in `lang`. An English draft of a source named only in
    Cyrillic gets the name in the official Latin spelling (Ukraine's 2010 passport system for
    a Ukrainian name, the international passport one for a Russian name): "Rustem Umierov",
    never a Cyrillic name inside an English sentence. A name given in English for the source
    (`sources add … --lang en`, or the sources file) overrides it."""
    lang = _lang(lang)
    if lang != "en":
        return _pick(source.person, lang)
    own = source.person.get("en")
    if own and own.strip():
        return own.strip()
    for other, system in (("uk", UkrainianKMU), ("ru", RussianInternationalPassport)):
        name = source.person.get(other)
        if name and name.strip():
            return str(translit(name.strip(), system))
    return _pick(source.person, lang)


def speaker_gender(source: SourceLike, lang: str) -> str | None:
    """The source's gender, else what the dictionaries tell from its name or role (Олена -> f,
    Генштаб -> m), so a past-tense verb can agree; None when nothing tells."""
    if source.gender in GENDERS:
        return source.gender
    if _lang(lang) == "en":
        return None
    words = "ru" if lang == "ru" else "uk"
    person = source.person.get(words) or source.person.get("uk")
    role = source.role.get(words) or source.role.get("uk")
    return grammatical_gender(person, role, "ru" if words == "ru" else "uk")


def _past(gender: str | None) -> str:
    """A past-tense form for `gender`; the plural when it is not known."""
    return gender if gender in GENDERS else "pl"


def _source_channel(source: SourceLike, lang: str) -> str:
    """The channel as a lead names it when the source has no person or role."""
    return channel_label(source.title, lang) if source.title else f"@{source.username}"


def said_verb(lang: str, gender: str | None) -> str:
    """ "повідомив у Telegram" agreeing with m, f, n or pl; present tense when unknown."""
    tr = texts.words(lang)
    return texts.on_telegram(tr, texts.said(tr, gender))


def channel_label(name: str, lang: str) -> str:
    """`@user` stays as is; a title is put in quotation marks of the draft's language."""
    if name.startswith("@"):
        return name
    left, right, _, _ = MARKS[_lang(lang)]
    return f"{left}{name}{right}"


def _institution_en(role: str, *, article: str = "The") -> str:
    """English puts "The" before an institution in a lead ("The General Staff … said"); never
    before a name in another script (a source known only as "Повітряні сили ЗСУ")."""
    if role[:4].casefold() in ("the ", "a ", "an "):
        return _cap(role) if article == "The" else role
    if not _latin_start(role):
        return role
    return f"{article} {role}"


def _latin_start(text: str) -> bool:
    first = next((ch for ch in text if ch.isalpha()), "")
    return "a" <= first.casefold() <= "z"


def _subject(source: SourceLike, lang: str) -> str | None:
    """Who speaks, as the lead names them: "Секретар РНБО Іван Петренко" / "Ivan Petrenko,
    Secretary of …," / "The General Staff …"; None when only the channel is known."""
    person = person_name(source, lang)
    role = role_in(source.role, lang)
    if person and role:
        return f"{person}, {role}," if lang == "en" else f"{_cap(role)} {person}"
    if person:
        return _cap(person)
    if role:
        return _institution_en(role) if lang == "en" else _cap(role)
    return None


def attribution_lead(
    source: SourceLike | None,
    lang: str,
    *,
    channel: str | None = None,
    verb: str | None = None,
    shown: str | None = None,
) -> str:
    """The lead without the final colon: role + name + "said on Telegram" in `lang`.

    Person and role: "Секретар РНБО Іван Петренко повідомив у Telegram" (uk/ru), "Ivan Petrenko,
    Secretary of ..., said on Telegram" (en: a long role reads better after the name). Role only
    (an institution): "Генштаб ЗСУ повідомив у Telegram", "The General Staff … said on Telegram".
    Neither: the channel by title or @name. `verb` replaces "said" (the speaker's own verb from
    the post, already in the draft's language); `shown` ("photo"/"video") writes "posted a photo"
    for a post with nothing to quote.
    """
    lang = _lang(lang)
    tr = texts.words(lang)
    if source is not None:
        who = _subject(source, lang)
        if who is not None:
            if shown is not None:
                return f"{who} {texts.on_telegram(tr, texts.posted(tr, shown, source.gender))}"
            return f"{who} {texts.on_telegram(tr, verb or texts.said(tr, source.gender))}"
        name = _source_channel(source, lang)
    else:
        name = channel_label(channel or "?", lang)
    if shown is not None:
        # i18n: only the channel's title or @name is known: an impersonal plural, no gender.
        return tr.gettext(
            "The Telegram channel {name} posted {what}",
            name=name,
            what=texts.media_word(tr, shown),
        )
    return tr.gettext("The Telegram channel {name} said", name=name)


# -- time -----------------------------------------------------------------------------------


def format_when(
    moment: datetime,
    tz: str,
    lang: str,
    *,
    now: datetime | None = None,
    style: HouseStyle = DEFAULT_STYLE,
) -> str:
    """ "18:08, 24 листопада" / "6:08 p.m., Nov. 24" / "18:08, 24 ноября" in zone `tz`, the home
    zone's time added when the reader's differs; with the year ("24 листопада 2024 року") when
    `now` is given and falls in another year."""
    return when(moment, tz, _lang(lang), style, now=now)


def updated_line(
    moment: datetime,
    tz: str,
    lang: str,
    *,
    now: datetime | None = None,
    style: HouseStyle = DEFAULT_STYLE,
) -> str:
    """ "Updated at 6:08 p.m." — with the day when the edit is not from today (`now`), so an
    edit of an old post does not read as today's."""
    lang = _lang(lang)
    t = clock_beside(moment, now, tz, lang, style, now=now)
    return texts.words(lang).gettext("Updated at {t}", t=t)


def changes_label(lang: str) -> str:
    return texts.words(lang).gettext("What changed:")


# -- credit and origin ----------------------------------------------------------------------

_MEDIA_KIND = {
    "photo": "photo",
    "video": "video",
    "gif": "video",
    "animation": "video",
    "round": "video",
    "video_note": "video",
}


def media_kind(post: PostLike) -> str | None:
    """ "photo" or "video" for media a newsroom credits and can show; None otherwise."""
    return _MEDIA_KIND.get((post.media or "").lower())


@dataclass(frozen=True, slots=True)
class Origin:
    """Whom a post is attributed to and where it is cited: the forward origin when forwarded."""

    username: str | None  # the channel to credit, when known
    name: str | None  # the origin's title when only that is known
    link: str  # permalink to cite
    forwarded: bool


class ForwardLike(Protocol):
    """What finding a post's origin reads of it (a thread's posts carry no more)."""

    @property
    def channel(self) -> str: ...
    @property
    def forward_from(self) -> str | None: ...
    @property
    def forward_link(self) -> str | None: ...
    @property
    def permalink(self) -> str: ...


def origin_of(post: ForwardLike) -> Origin:
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
    kind = media_kind(post)
    if kind is None:
        return None
    origin = origin or origin_of(post)
    label = texts.credit_label(texts.words(lang), kind)
    if origin.username:
        return f"{label}: t.me/{origin.username}"
    return f"{label}: {origin.name or 't.me/' + post.channel}"


# -- the draft ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    lead: str  # without the colon
    subject: str | None  # who speaks, for a second reference ("Umerov", "The General Staff")
    gender: str | None
    quote: str | None  # verbatim slice of the post text
    quote_start: int
    quote_end: int
    styled: StyledQuote | None  # the quote as printed: house-style marks, emoji dropped
    when: str
    link: str
    credit: str | None
    spans: tuple[tuple[int, int], ...] = field(default=())  # matched words inside the quote
    names: tuple[str, ...] = ()  # glossary entries the post mentions, in the reader's language
    lang: str = "en"
    channel: str = ""  # the channel as the lead names it, when no person or role is known
    shown: str | None = None  # "photo"/"video" when the draft says it was posted, not said
    speaker: Speaker | None = None  # whom the lead names, to tell a quote's tail is theirs
    # A forward of another channel's post: the forwarding channel's speaker, named again
    # ("Haiova") with their gender, for a follow-up that says they forwarded it.
    via: str | None = None
    via_gender: str | None = None
    # The speaker's role as the desk gave it in another language, shown "[…]" in the lead.
    foreign_role: str | None = None

    def first_line(self) -> str:
        if self.styled is None:
            return f"{self.lead}."
        return f"{self.lead}: {self.styled.text}"

    def meta_line(self) -> str:
        return f"{self.when} · {self.link}"

    def plain(self) -> str:
        """What gets pasted."""
        lines = [self.first_line(), self.meta_line()]
        if self.credit:
            lines.append(self.credit)
        if self.names:
            lines.append(self.names_line())
        return "\n".join(lines)

    def names_line(self) -> str:
        return texts.words(self.lang).gettext("Names:") + " " + "; ".join(self.names)

    def quote_runs(self, tag: Literal["b", "u"] = "b") -> list[Run]:
        """The printed quote with the matched words highlighted."""
        if self.styled is None:
            return []
        return styled_runs(self.styled, self.spans, tag)

    def runs(self, tag: Literal["b", "u"] = "b") -> list[Run]:
        """The same draft as formatted runs, matched words in the quote highlighted."""
        if self.styled is None:
            first: list[Run] = [Run(f"{self.lead}.")]
        else:
            first = join_runs(f"{self.lead}: ", self.quote_runs(tag))
        tail = "\n" + self.meta_line() + (f"\n{self.credit}" if self.credit else "")
        if self.names:
            tail += "\n" + self.names_line()
        return join_runs(first, tail)


def styled_runs(
    styled: StyledQuote, spans: Iterable[tuple[int, int]], tag: Literal["b", "u"] = "b"
) -> list[Run]:
    """`styled.text` as runs, each character highlighted when the post character it came from
    lies in a span (a mark we added never is)."""
    marks = sorted(spans)
    runs: list[Run] = []
    buf: list[str] = []
    state = False
    for ch, at in zip(styled.text, styled.origin, strict=True):
        inside = at >= 0 and any(a <= at < b for a, b in marks)
        if inside != state and buf:
            runs.append(Run("".join(buf), tag if state else None))
            buf = []
        state = inside
        buf.append(ch)
    if buf:
        runs.append(Run("".join(buf), tag if state else None))
    return join_runs(runs)


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DraftOptions:
    """How a draft is written, shared by every surface that writes one (alert, Full text,
    /post, `wirewatch draft`): for whom (`lang`, `tz`, the desk's `style`), from what (`spans`,
    where the rule that fired matched; the `glossary` entries the post mentions), and what the
    caller knows beyond the post (a forward's `origin_source` and `origin_date`; `now`, which
    adds the year to a date from another year)."""

    lang: str
    tz: str
    spans: Sequence[SpanLike] = ()
    origin_source: SourceLike | None = None
    origin_date: datetime | None = None
    now: datetime | None = None
    style: HouseStyle = DEFAULT_STYLE
    glossary: Sequence[Entry] = ()


def build_draft(
    post: PostLike,
    source: SourceLike | None,
    options: DraftOptions,
    *,
    focus: Sequence[SpanLike] = (),
) -> Draft:
    """The draft of `post` for a journalist reading `lang` in zone `tz`.

    `spans` are where the rule that fired matched: they choose the quote and are highlighted.
    A forwarded post is attributed to its origin: `origin_source` when the caller knows that
    channel as a source, else the origin's @name or title; never to the forwarder. Its time is
    the original's (`origin_date`) when the caller has the original stored. A post with a photo
    and no words says "posted a photo". `focus` (what an edit changed) picks the quote over
    everything else, so an edit reply quotes the sentence that changed. `glossary` entries
    the post mentions are listed in `lang`, in the nominative, when the post is in another
    language ("Names: Hakan Fidan, Foreign Minister of Türkiye").
    """
    lang, tz, spans, style = options.lang, options.tz, options.spans, options.style
    origin_source, origin_date, now = options.origin_source, options.origin_date, options.now
    glossary = options.glossary
    lang = _lang(lang)
    if source is not None:
        source = localized(source, lang, glossary)
    if origin_source is not None:
        origin_source = localized(origin_source, lang, glossary)
    text = post.text or ""
    span_list = [s for s in spans if 0 <= s.start < s.end <= len(text)]
    marks = [(s.start, s.end) for s in span_list]
    origin = origin_of(post)
    speaker = origin_source if origin.forwarded else source
    who = _speaker(speaker, origin if origin.forwarded else None, post.channel)
    chosen = choose_quote(text, span_list, focus=focus, shown=media_kind(post) is not None)
    styled = None
    if chosen is not None:
        qa, qb = chosen
        styled = style_quote(text, qa, qb, lang, who)
        if not styled.text.strip(MARKS[lang][0] + MARKS[lang][1] + ". "):
            styled = None  # nothing but emoji: no quote to print
        else:  # one sentence past QUOTE_CHARS is quoted in part
            styled, qa, qb = quotes.fit_quote(styled, qa, qb, focus, marks)
        quote: str | None = text[qa:qb]
    else:
        quote, qa, qb = None, 0, 0
    shown = media_kind(post) if styled is None else None
    verb = speaker_verb(styled.tail_verb, lang, styled.tail_lang) if styled else None
    if styled and styled.tail_verb and who.disagrees(styled.tail_verb):
        verb = None  # "повідомили в Генштабі": the lead's own verb agrees with "Генштаб"
    if origin.forwarded:
        if origin_source is not None:
            lead = attribution_lead(origin_source, lang, verb=verb, shown=shown)
        else:
            label = f"@{origin.username}" if origin.username else (origin.name or "?")
            lead = attribution_lead(None, lang, channel=label, shown=shown)
    else:
        lead = attribution_lead(source, lang, channel=f"@{post.channel}", verb=verb, shown=shown)
    inside = tuple((a, b) for a, b in marks if a < qb and b > qa)
    if speaker is not None:
        channel = _source_channel(speaker, lang)
    elif origin.forwarded:
        channel = (
            f"@{origin.username}" if origin.username else channel_label(origin.name or "?", lang)
        )
    else:
        channel = f"@{post.channel}"
    return Draft(
        lead=lead,
        subject=second_reference(speaker, lang) if speaker is not None else None,
        gender=speaker_gender(speaker, lang) if speaker is not None else None,
        quote=quote,
        quote_start=qa,
        quote_end=qb,
        styled=styled,
        when=format_when(
            origin_date if origin.forwarded and origin_date else post.date,
            tz,
            lang,
            now=now,
            style=style,
        )
        + (
            ""
            if origin.forwarded
            else edited_note(post.date, post.edit_date, tz, lang, style, now)
        ),
        link=origin.link,
        credit=credit_line(post, lang, origin),
        spans=inside,
        names=tuple(e.line(lang) for e in glossary) if post_language(text) != lang else (),
        lang=lang,
        channel=channel,
        shown=shown,
        speaker=who,
        via=_forwarder(post, source, lang) if origin.forwarded else None,
        via_gender=speaker_gender(source, lang) if origin.forwarded and source else None,
        foreign_role=foreign(speaker.role, lang) if speaker is not None else None,
    )


def _forwarder(post: PostLike, source: SourceLike | None, lang: str) -> str | None:
    """Who forwarded another channel's post, named again; None for a channel's own post."""
    if origin_of(post).username == post.channel:
        return None
    named = second_reference(source, lang) if source is not None else None
    return named or f"@{post.channel}"


def _speaker(source: SourceLike | None, forward: Origin | None, channel: str) -> Speaker:
    """Whom the lead names, for telling a quote's own speaker tail from somebody else's."""
    if source is not None:
        names = [*source.person.values(), *source.role.values(), *source.short_role.values()]
        gender = source.gender if source.gender in GENDERS else speaker_gender(source, "uk")
        return Speaker.of([*names, source.title], gender)
    if forward is not None:
        return Speaker.of([forward.name, forward.username], None)
    return Speaker.of([channel], None)


def second_reference(source: SourceLike, lang: str) -> str | None:
    """How a story names the speaker again: the surname ("Umerov", "Умєров"), else the short
    role ("The NSDC", "Генштаб"), else the role."""
    lang = _lang(lang)
    person = person_name(source, lang)
    if person:
        return person.split()[-1]
    role = short_role(source, lang)
    if role:
        return _institution_en(role) if lang == "en" else _cap(role)
    return None


def no_text_label(lang: str) -> str:
    return texts.words(lang).gettext("(post without text)")
