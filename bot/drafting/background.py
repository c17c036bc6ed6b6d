"""The background a story adds: "Earlier:" and one line per older post on the topic.

Pure functions over data, like the draft: each line is a draft of the older post (quote chosen
by its rule, house style), credited to whoever said it first when it is a forward.

It is capped to read on a phone: each line recalls at most LINE_QUOTE_CHARS of its post's words
(a post with no sentence break used to be quoted whole), the block holds at most
BACKGROUND_CHARS, lines go newest first while they fit, and the rest is counted ("…and 4
earlier posts"). `room` bounds its HTML, so the alert that ends with it stays one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.drafting import texts
from bot.drafting.draft import (
    DraftOptions,
    PostLike,
    _cap,
    _institution_en,
    _lang,
    _past,
    build_draft,
    origin_of,
    person_name,
    short_role,
)
from bot.drafting.html import Run, join_runs, plain, to_html, utf16_len
from bot.drafting.quotes import shorten_quote
from bot.drafting.roles import SourceLike
from bot.drafting.sentences import SpanLike
from bot.drafting.style import DEFAULT_STYLE, HouseStyle, day, other_year
from bot.i18n import Translator


@dataclass(frozen=True, slots=True)
class Earlier:
    """An older stored post on the same topic, for the draft's background."""

    post: PostLike
    source: SourceLike | None
    spans: tuple[SpanLike, ...] = ()  # where the rule matched it
    # A forward is credited to its origin: the origin's source and the original's date, when
    # the store has them.
    origin_source: SourceLike | None = None
    origin_date: datetime | None = None


# The words one "Earlier:" line recalls: a sentence or two, as much as reads in a glance.
LINE_QUOTE_CHARS = 200
# The whole block, in visible characters: about a phone screen, under the story itself.
BACKGROUND_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Background:
    """A story's background: older posts on the topic, newest first, and how many more were
    found beyond them (`more`), with `at_least` when the search stopped before the last."""

    items: tuple[Earlier, ...] = ()
    more: int = 0
    at_least: bool = False

    def without(self, drop: Callable[[Earlier], bool]) -> Background:
        """The same background less the items `drop` picks (the story an update follows up,
        which is no background of its own)."""
        return replace(self, items=tuple(e for e in self.items if not drop(e)))

    def at_most(self, n: int) -> Background:
        """The newest `n` items; the rest are counted with `more`. A caller that may drop
        one (`without`) asks for one more than it shows, so that dropping it leaves a line
        in its place rather than a gap and "…and 1 earlier post"."""
        n = max(0, n)
        return replace(self, items=self.items[:n], more=self.more + len(self.items[n:]))


def _who_earlier(source: SourceLike, lang: str) -> str | None:
    """ "NSDC Secretary Rustem Umerov" / "секретар РНБО Рустем Умєров" / "the General Staff";
    None when the source has neither person nor role."""
    person = person_name(source, lang)
    role = short_role(source, lang)
    if person and role:
        return f"{role} {person}" if lang == "en" else f"{_title_case_off(role)} {person}"
    if person:
        return person
    if role:
        return _institution_en(role, article="the") if lang == "en" else role
    return None


def _title_case_off(role: str) -> str:
    """A title before a name mid-sentence is lower case in uk/ru ("секретар РНБО"), an
    acronym that opens it is not ("МЗС України")."""
    first = role.split(maxsplit=1)[0] if role.strip() else ""
    if len(first) > 1 and first.isupper():
        return role
    return role[:1].lower() + role[1:]


def background_runs(
    items: Background | Sequence[Earlier],
    lang: str,
    tz: str,
    *,
    now: datetime | None = None,
    style: HouseStyle = DEFAULT_STYLE,
    room: int | None = None,
    chars: int | None = BACKGROUND_CHARS,
) -> list[Run]:
    """ "Earlier:" and one line per older post, newest first as given: "On Dec. 11, NSDC
    Secretary Rustem Umerov said: “…” https://t.me/…", its rule's words in bold, each line's
    quote shortened to LINE_QUOTE_CHARS. Lines are added while the block stays within `chars`
    visible characters (None: no bound) and `room` UTF-16 units of HTML (None: no bound); the
    posts left out, and those the background counted beyond its items, close it as "…and N
    earlier posts". Empty when there is nothing to say, or no room to say it in."""
    lang = _lang(lang)
    found = items if isinstance(items, Background) else Background(tuple(items))
    if not found.items and not found.more:
        return []
    tr = texts.words(lang)
    head = [Run(tr.gettext("Earlier:"), "b")]
    lines = [_line(item, lang, tz, now, style, tr) for item in found.items]

    def fits(runs: Sequence[Run]) -> bool:
        return (chars is None or len(plain(runs)) <= chars) and (
            room is None or utf16_len(to_html(runs)) <= room
        )

    def closing(shown: int) -> list[Run]:
        left = len(lines) - shown + found.more
        if not left:
            return []
        if shown:
            text = (
                tr.ngettext(
                    "…and more than {n} earlier post", "…and more than {n} earlier posts", left
                )
                if found.at_least
                else tr.ngettext("…and {n} earlier post", "…and {n} earlier posts", left)
            )
            return [Run("\n" + text)]
        # No line has room: "Earlier: 3 posts on this topic" (the button lists them).
        text = (
            tr.ngettext(
                "more than {n} post on this topic", "more than {n} posts on this topic", left
            )
            if found.at_least
            else tr.ngettext("{n} post on this topic", "{n} posts on this topic", left)
        )
        return [Run(" " + text)]

    runs = head
    shown = 0
    for line in lines:
        candidate = join_runs(runs, "\n", line)
        if not fits(join_runs(candidate, closing(shown + 1))):
            break
        runs, shown = candidate, shown + 1
    tail = closing(shown)
    if not shown and not tail:
        return []
    runs = join_runs(runs, tail)
    return runs if fits(runs) else []


def _line(
    item: Earlier,
    lang: str,
    tz: str,
    now: datetime | None,
    style: HouseStyle,
    tr: Translator,
) -> list[Run]:
    """One "Earlier:" line: when, who and what they said, and the link."""
    draft = build_draft(
        item.post,
        item.source,
        DraftOptions(
            lang=lang,
            tz=tz,
            spans=item.spans,
            origin_source=item.origin_source,
            origin_date=item.origin_date,
            style=style,
        ),
    )
    if draft.styled is not None:
        # Recalled, not published: the link is there for the whole of it.
        offsets = [(s.start, s.end) for s in item.spans]
        draft = replace(draft, styled=shorten_quote(draft.styled, LINE_QUOTE_CHARS, offsets))
    origin = origin_of(item.post)
    moment = item.post.date
    speaker = item.source
    if origin.forwarded:
        # Credited to whoever said it first, never to the channel that passed it on.
        moment = item.origin_date or moment
        speaker = item.origin_source
    the_day = day(moment, tz, lang, style, with_year=other_year(moment, tz, now))
    who = _who_earlier(speaker, lang) if speaker is not None else None
    gender = draft.gender
    line: list[Run]
    if who is None:
        # Only the channel is known: "3 березня в каналі @x повідомили: …".
        if draft.styled is None:
            text = tr.gettext(
                "On {day}, the channel {name} posted {what}.",
                day=the_day,
                name=draft.channel,
                what=texts.media_word(tr, draft.shown),
            )
            line = [Run(_cap(text))]
        else:
            said = tr.gettext("On {day}, the channel {name} said: {quote}")
            before, _, after = said.partition("{quote}")
            head = before.format(day=the_day, name=draft.channel)
            line = join_runs(_cap(head), draft.quote_runs(), after)
    elif draft.styled is None:
        what = texts.posted(tr, draft.shown, _past(gender))
        # i18n: {what} is "posted a photo", agreeing with the speaker.
        text = tr.gettext("On {day}, {who} {what}.", day=the_day, who=who, what=what)
        line = [Run(_cap(text))]
    else:
        verb = texts.recall_verb(tr, gender, relayed=bool(draft.styled and draft.styled.relayed))
        # i18n: {verb} is the follow-up verb agreeing with the speaker ("said", "заявив").
        said = tr.gettext("On {day}, {who} {verb}: {quote}")
        before, _, after = said.partition("{quote}")
        head = before.format(day=the_day, who=who, verb=verb)
        line = join_runs(_cap(head), draft.quote_runs(), after)
    return join_runs(line, " ", draft.link)
