"""The background a story adds: "Earlier:" and one line per older post on the topic.

Pure functions over data, like the draft: each line is a draft of the older post (quote chosen
by its rule, house style), credited to whoever said it first when it is a forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.drafting import texts
from bot.drafting.draft import (
    DraftOptions,
    PostLike,
    SourceLike,
    _cap,
    _institution_en,
    _lang,
    _past,
    _pick,
    build_draft,
    origin_of,
    person_name,
)
from bot.drafting.html import Run, join_runs
from bot.drafting.sentences import SpanLike
from bot.drafting.style import DEFAULT_STYLE, HouseStyle, day, other_year


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


def _who_earlier(source: SourceLike, lang: str) -> str | None:
    """ "NSDC Secretary Rustem Umerov" / "секретар РНБО Рустем Умєров" / "the General Staff";
    None when the source has neither person nor role."""
    person = person_name(source, lang)
    role = _pick(source.short_role, lang) or _pick(source.role, lang)
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
    items: Sequence[Earlier],
    lang: str,
    tz: str,
    *,
    now: datetime | None = None,
    style: HouseStyle = DEFAULT_STYLE,
) -> list[Run]:
    """ "Earlier:" and one line per older post, newest first as given: "On Dec. 11, NSDC
    Secretary Rustem Umerov said: “…” https://t.me/…", its rule's words in bold."""
    lang = _lang(lang)
    if not items:
        return []
    tr = texts.words(lang)
    runs: list[Run] = [Run(tr.gettext("Earlier:"), "b")]
    for item in items:
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
            verb = texts.also_said(tr, gender)
            # i18n: {verb} is the follow-up verb agreeing with the speaker ("said", "заявив").
            said = tr.gettext("On {day}, {who} {verb}: {quote}")
            before, _, after = said.partition("{quote}")
            head = before.format(day=the_day, who=who, verb=verb)
            line = join_runs(_cap(head), draft.quote_runs(), after)
        runs = join_runs(runs, "\n", line, " ", draft.link)
    return runs
