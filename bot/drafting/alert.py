"""The alert payload the outbox stores and the notifier sends.

`compose_alert` is pure: post, source and the person's language and zone in, a JSON-ready dict
out: `{"messages": [{"html", "buttons"}], "plain"}`. Every "html" is Telegram HTML within 4096
UTF-16 units; the first message carries the buttons; "plain" is the draft as pasted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.drafting import texts
from bot.drafting.background import Background, Earlier, background_runs
from bot.drafting.diff import changed_spans, diff_plain, diff_runs, word_diff
from bot.drafting.draft import (
    Draft,
    DraftOptions,
    PostLike,
    attribution_lead,
    build_draft,
    changes_label,
    format_when,
    no_text_label,
    origin_of,
    styled_runs,
    updated_line,
)
from bot.drafting.html import (
    MESSAGE_LIMIT,
    Button,
    Run,
    button,
    join_runs,
    split_runs,
    to_html,
    utf16_len,
)
from bot.drafting.html import plain as plain_of
from bot.drafting.image import image_runs
from bot.drafting.quotes import MARKS, post_language, style_quote
from bot.drafting.roles import SourceLike
from bot.drafting.sentences import SpanLike
from bot.drafting.style import HouseStyle
from bot.drafting.update import update_paragraph
from bot.i18n import Message

Kind = Literal["new", "edit", "delete", "digest"]
KINDS: tuple[Kind, ...] = ("new", "edit", "delete", "digest")

_EDIT_MARK = "✏️ "
_DELETE_MARK = "🗑 "


class _PostWithIds(PostLike, Protocol):
    """compose also needs the row ids for the buttons (storage.models.StoredPost has them)."""

    @property
    def id(self) -> int: ...
    @property
    def source_id(self) -> int: ...


def _buttons(kind: Kind, post: _PostWithIds, lang: str) -> list[list[Button]]:
    if kind == "delete":
        return [[button("rel", post.id, lang)], [button("mute", post.source_id, lang)]]
    if kind == "digest":
        return [[button("full", post.id, lang)]]
    return [
        [button("full", post.id, lang), button("rel", post.id, lang)],
        [button("mute", post.source_id, lang)],
    ]


def _payload(runs: Sequence[Run], plain: str, buttons: list[list[Button]]) -> dict[str, Any]:
    chunks = [to_html(piece) for piece in split_runs(runs, MESSAGE_LIMIT)]
    if not chunks:
        raise ValueError("an alert must have some text")
    messages: list[dict[str, Any]] = []
    for n, chunk in enumerate(chunks):
        rows = [[b.as_dict() for b in row] for row in buttons] if n == 0 else []
        messages.append({"html": chunk, "buttons": rows})
    return {"messages": messages, "plain": plain}


def compose_alert(
    kind: Kind,
    post: _PostWithIds,
    source: SourceLike | None,
    options: DraftOptions,
    *,
    previous_text: str | None = None,
    deleted_at: datetime | None = None,
    deleted_found: bool = False,
    rule: str | None = None,
    update: bool = False,
    thread_date: datetime | None = None,
    background: Background | Sequence[Earlier] = (),
    image_spans: Sequence[SpanLike] = (),
    translate: bool = False,
    media_change: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The alert for one post, its draft written as `options` say (DraftOptions: language, zone,
    house style, the rule's spans, which choose the quote and are highlighted, glossary names, a
    forward's origin). `rule` (the query that fired) is named at the end of the alert, not in the
    pasted text. `update` (a follow-up on a story the person was alerted about) puts a ready
    "Updated at …" paragraph first, with the day when `thread_date` (the date of the post the
    story's alert was about) falls on another day. `previous_text` (edit) is diffed against
    `post.text`, and the quote is the sentence that changed; `deleted_at` (delete) defaults to
    `post.deleted_at`; `deleted_found`: it is when a re-read of the channel found the post gone,
    not when it went ("Found deleted at …"). `background` (older posts on the topic, newest first)
    ends a new alert as "Earlier:". `image_spans` (offsets into `post.ocr_text`) say the rule
    matched words in the post's picture: a new alert then says what the image reads, apart from the
    official's words. `translate` (a provider is configured): a quote in another language than
    `lang` is marked for translation (payload "translate"); the translation follows as a reply, so
    the alert never waits for it. `media_change` (edit): the same edit also changed the post's
    picture or file ("replaced" or "added", the kind of media), said under the words' diff."""
    lang, tz, spans, style = options.lang, options.tz, options.spans, options.style
    now = options.now
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    focus: list[_Mark] = []
    if kind == "edit" and previous_text is not None:
        # An edit reply quotes the sentence that changed.
        focus = [_Mark(a, b) for a, b in changed_spans(previous_text, post.text or "")]
    draft = build_draft(post, source, options, focus=focus)
    buttons = _buttons(kind, post, lang)
    footer: list[Run] = []
    if rule:
        # i18n: at the end of an alert: the rule (query) that fired.
        footer = [Run("\n\n"), Run(texts.words(lang).gettext("Rule: {rule}", rule=rule), "i")]
    if draft.foreign_role is not None and kind != "digest":
        footer = join_runs([Run("\n\n⚠️ "), Run(_role_hint(source, lang), "i")], footer)
    if kind in ("new", "digest"):
        runs = draft.runs()
        text = draft.plain()
        image = image_runs(getattr(post, "ocr_text", ""), image_spans, lang) if image_spans else []
        if image:
            runs = join_runs(runs, "\n\n", image)
            text += "\n\n" + plain_of(image)
        if update:
            paragraph = update_paragraph(
                draft, post.date, tz, lang, since=thread_date, style=style
            )
            runs = join_runs(paragraph, "\n\n", runs)
            text = plain_of(paragraph) + "\n\n" + text
        wanted = _translation_wanted(draft, post.text or "", lang) if translate else None
        if wanted is not None:
            footer = join_runs([Run("\n"), Run(_translation_follows(lang), "i")], footer)
        # The background takes only the room the rest of the message leaves: with it the
        # alert is never more messages than without it (one: a quote past QUOTE_CHARS is cut).
        room = MESSAGE_LIMIT - utf16_len(to_html(join_runs(runs, "\n\n", footer)))
        earlier = background_runs(background, lang, tz, now=now, style=style, room=room)
        if earlier:
            runs = join_runs(runs, "\n\n", earlier)
            text += "\n\n" + plain_of(earlier)
        payload = _payload(join_runs(runs, footer), text, buttons)
        if wanted is not None:
            payload["translate"] = wanted
        return payload
    if kind == "edit":
        when = post.edit_date or post.date
        header = _EDIT_MARK + updated_line(when, tz, lang, now=now, style=style)
        runs = join_runs(header, "\n")
        plain = header + "\n"
        # One edit, one follow-up: when the same edit replaced the picture too, the words'
        # diff is followed by that (what the new picture reads follows when it is read and
        # matches the rule).
        also = texts.media_changed(texts.words(lang), *media_change) if media_change else ""
        diff = word_diff(previous_text, post.text) if previous_text is not None else None
        if diff or also:
            runs = join_runs(runs, changes_label(lang), "\n")
            plain += changes_label(lang) + "\n"
            if diff:
                runs = join_runs(runs, diff_runs(diff, lang), "\n")
                plain += diff_plain(diff, lang) + "\n"
            if also:
                runs = join_runs(runs, [Run(also, "i")], "\n")
                plain += also + "\n"
            runs = join_runs(runs, "\n")
            plain += "\n"
        # A picture replaced under the same words: what the new one reads is the change.
        image = image_runs(getattr(post, "ocr_text", ""), image_spans, lang) if image_spans else []
        if image:
            runs = join_runs(runs, image, "\n\n")
            plain += plain_of(image) + "\n\n"
        return _payload(join_runs(runs, draft.runs(), footer), plain + draft.plain(), buttons)
    return _deleted(post, draft, lang, tz, spans, (deleted_at, deleted_found), buttons, now, style)


def _translation_wanted(draft: Draft, text: str, lang: str) -> dict[str, Any] | None:
    """What to translate for a reader of `lang`: the quote, when the post is plainly in another
    language (a post whose language the letters do not tell is left alone)."""
    source = post_language(text)
    if draft.quote is None or source is None or source == lang:
        return None
    return {"text": draft.quote, "source": source, "target": lang}


def translation_payload(
    lang: str,
    *,
    translated: str | None = None,
    provider: str = "",
    error: str | Message | BaseException | None = None,
) -> dict[str, Any]:
    """The reply that carries a quote's translation, labelled unofficial, or says why there is
    none (`error`: a Message, or an error raised with a msgid, is read in `lang`); the
    verbatim quote in the alert above stays the one to cite."""
    key = _key(lang)
    tr = texts.words(key)
    left, right, _, _ = MARKS[key]
    if translated is None:
        if isinstance(error, Message):
            why = tr.message(error)
        elif isinstance(error, BaseException):
            why = tr.error(error)
        else:
            why = error or "?"
        line = tr.gettext(
            "Translation unavailable ({why}); the quote is in the original language", why=why
        )
        return _payload([Run("🌐 " + line)], line, [])
    head = tr.gettext("Unofficial translation — check before use") + f" ({provider}):"
    runs = join_runs([Run("🌐 "), Run(head, "b")], "\n", f"{left}{translated}{right}")
    return _payload(runs, f"{head}\n{left}{translated}{right}", [])


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int


def _role_hint(source: SourceLike | None, lang: str) -> str:
    """What the journalist is told under an alert whose lead shows the role "[…]": it is in
    the language the desk gave it, and how an editor gives it in this one (/watch takes the
    role in the editor's own language)."""
    channel = source.username if source is not None else "channel"
    tr = texts.words(lang)
    return tr.gettext(
        "The role in [brackets] is not given in this language: translate it before use. "
        "An editor reading the bot in this language adds it: /watch @{channel} | role",
        channel=channel,
    )


def _translation_follows(lang: str) -> str:
    return texts.words(lang).gettext("A machine translation of the quote follows as a reply.")


def _key(lang: str) -> str:
    return lang if lang in texts.LANG_CODES else "en"


def _deleted(
    post: _PostWithIds,
    draft: Draft,
    lang: str,
    tz: str,
    spans: Sequence[SpanLike],
    deleted: tuple[datetime | None, bool],  # when, and whether that is when it was found
    buttons: list[list[Button]],
    now: datetime | None,
    style: HouseStyle,
) -> dict[str, Any]:
    moment = deleted[0] or getattr(post, "deleted_at", None)
    lang_key = _key(lang)
    header = _DELETE_MARK + (
        _deleted_line(moment, tz, lang, now, style, found=deleted[1])
        if moment is not None
        else texts.words(lang_key).gettext("Post deleted")
    )
    text = post.text or ""
    left, right, _, _ = MARKS[lang_key]
    # The whole last text, not a quote: once deleted, this is the newsroom's only record of it.
    # It is pasted like any quote, so it is printed in the same house style.
    styled = style_quote(text, 0, len(text), lang_key, draft.speaker) if text.strip() else None
    if styled is not None and styled.text.strip(left + right + ". "):
        body = styled_runs(styled, [(s.start, s.end) for s in spans])
        body_plain = styled.text
    else:
        body = [Run(no_text_label(lang))]
        body_plain = no_text_label(lang)
    last = texts.words(lang).gettext("Last stored text")
    header = f"{header}. {last}:"
    lead = draft.lead
    tail = draft.meta_line() + (f"\n{draft.credit}" if draft.credit else "")
    # The credit stays: a deleted photo is still the channel's photo, and still cited so.
    runs = join_runs(header, "\n", lead, ": ", body, "\n", tail)
    plain = "\n".join([header, f"{lead}: {body_plain}", tail])
    return _payload(runs, plain, buttons)


__all__ = ["KINDS", "Kind", "attribution_lead", "compose_alert", "origin_of"]


def _deleted_line(
    moment: datetime, tz: str, lang: str, now: datetime | None, style: HouseStyle, *, found: bool
) -> str:
    """`found`: `moment` is when a re-read of the channel found the post gone (it went at some
    time before, while the listener was away), not when it was deleted."""
    t = format_when(moment, tz, lang, now=now, style=style)
    if found:
        return texts.words(lang).gettext("Found deleted at {t}", t=t)
    return texts.words(lang).gettext("Post deleted at {t}", t=t)
