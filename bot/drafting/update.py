"""The paragraph a follow-up adds to the story: "Updated at 6:08 p.m. Umerov also said: “…”",
or, for a forward of another official's post in the story's thread, who forwarded it and who
said it ("Updated at 3:20 p.m. Doroshenko forwarded a post. Savchuk said: “…”")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bot.drafting import texts
from bot.drafting.draft import Draft, _cap, _lang, _past, updated_line
from bot.drafting.html import Run, join_runs
from bot.drafting.style import DEFAULT_STYLE, HouseStyle
from bot.i18n import Translator


def update_paragraph(
    draft: Draft,
    moment: datetime,
    tz: str,
    lang: str,
    *,
    since: datetime | None = None,
    style: HouseStyle = DEFAULT_STYLE,
    tag: Literal["b", "u"] = "b",
) -> list[Run]:
    """The paragraph a follow-up adds to the story: "Updated at 6:08 p.m. Umerov also said:
    “…”" / "Оновлено о 18:08. Умєров також заявив: «…»". `since` is when the story's alert
    was posted: a follow-up on another day names its day ("Оновлено о 03:00, 30 листопада")."""
    lang = _lang(lang)
    tr = texts.words(lang)
    head = updated_line(moment, tz, lang, now=since, style=style)
    head += "" if head.endswith(".") else "."  # "6:08 p.m." already ends the sentence
    if draft.via is not None and draft.styled is not None:
        return _forwarded(draft, head, tr, tag)
    shown = draft.shown
    if draft.styled is None and shown is None:
        # Nothing to quote and nothing shown (a poll, emoji only): it was said, as the lead
        # says; calling it a photo was wrong.
        if draft.subject is None:
            said = tr.gettext("The Telegram channel {name} said", name=draft.channel)
            return [Run(f"{head} {said}.")]
        verb = texts.on_telegram(tr, texts.said(tr, _past(draft.gender)))
        return [Run(f"{head} {_cap(draft.subject)} {verb}.")]
    if draft.subject is None:
        # Only the channel is known: "У каналі @x також повідомили", never "@x заявляє".
        if draft.styled is None:
            what = texts.media_word(tr, shown)
            # i18n: {head} is "Updated at 6:08 p.m."; only the channel is known.
            line = tr.gettext(
                "{head} The channel {name} also posted {what}.",
                head=head,
                name=draft.channel,
                what=what,
            )
            return [Run(line)]
        # i18n: {head} is "Updated at 6:08 p.m."; only the channel is known.
        before, _, after = tr.gettext("{head} The channel {name} also said: {quote}").partition(
            "{quote}"
        )
        return join_runs(
            before.format(head=head, name=draft.channel), draft.quote_runs(tag), after
        )
    who = _cap(draft.subject)
    if draft.styled is None:
        verb = texts.on_telegram(tr, texts.posted(tr, shown, _past(draft.gender)))
        return [Run(f"{head} {who} {verb}.")]
    verb = texts.recall_verb(tr, draft.gender, relayed=bool(draft.styled and draft.styled.relayed))
    # i18n: {head} is "Updated at 6:08 p.m.", {who} the speaker's surname or short role, {verb}
    # the follow-up verb agreeing with the speaker.
    before, _, after = tr.gettext("{head} {who} also {verb}: {quote}").partition("{quote}")
    lead = before.format(head=head, who=who, verb=verb)
    return join_runs(lead, draft.quote_runs(tag), after)


def _forwarded(draft: Draft, head: str, tr: Translator, tag: Literal["b", "u"]) -> list[Run]:
    """A forward of another official's post in the thread: its channel's speaker forwarded
    it, the words are the origin's ("Гайова переслала допис. Савчук заявив: «…»"). "Савчук
    також заявив" said he had spoken in the thread before, which he had not."""
    assert draft.via is not None and draft.styled is not None
    # i18n: {head} is "Updated at 6:08 p.m.", {who} the forwarding channel's speaker (surname
    # or short role), {forwarded} "forwarded a post" agreeing with them.
    first = tr.gettext(
        "{head} {who} {forwarded}.",
        head=head,
        who=_cap(draft.via),
        forwarded=texts.forwarded(tr, draft.via_gender),
    )
    if draft.subject is None:
        # i18n: the words of a forwarded post whose channel is known only by its name.
        before, _, after = tr.gettext("The channel {name} said: {quote}").partition("{quote}")
        before = before.format(name=draft.channel)
    else:
        verb = texts.recall_verb(tr, draft.gender, relayed=draft.styled.relayed)
        # i18n: {who} the forwarded post's speaker named again (surname or short role), {verb}
        # the past-tense verb agreeing with them.
        before, _, after = tr.gettext("{who} {verb}: {quote}").partition("{quote}")
        before = before.format(who=_cap(draft.subject), verb=verb)
    return join_runs(f"{first} {before}", draft.quote_runs(tag), after)
