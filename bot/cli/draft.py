"""`wirewatch draft <t.me link>`: the draft of a stored post, as its alert would carry it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli.common import UsageError, open_store, print_json, terminal_text
from bot.delivery.translation import configured_translator
from bot.desk.glossary_file import load_glossary
from bot.drafting.alert import Kind, compose_alert, translation_payload
from bot.drafting.background import Earlier
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.glossary import GlossaryError
from bot.drafting.quotes import post_language
from bot.ingest.origins import best_rule_context, earlier_posts, lookup_origin
from bot.matching import RuleSyntaxError, match_rule, parse_rule
from bot.settings import Settings
from sources.translation import TranslationError
from storage.records import SourceError, parse_permalink

# Posts of the update's own thread looked past for its background: a story seldom has more
# updates within its window.
THREAD_LOOKBACK = 10


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "draft",
        parents=[parent],
        help="print the paste-ready draft of a stored post",
        description=(
            "Print the draft a journalist would get for a stored post: attribution, verbatim "
            "quote, local time, permalink and photo credit."
        ),
    )
    p.add_argument("link", help="the post's permalink, https://t.me/<channel>/<id>")
    p.add_argument("--lang", choices=("uk", "en", "ru"), help="draft language (default: settings)")
    p.add_argument("--tz", metavar="ZONE", help="time zone, e.g. Europe/Kyiv (default: settings)")
    p.add_argument(
        "--rule",
        metavar="QUERY",
        help="quote as an alert for this rule would (default: the desk rule that matches)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_draft)


async def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    try:
        username, message_id = parse_permalink(args.link)
    except SourceError as exc:
        raise UsageError(str(exc)) from exc
    lang: str = args.lang or settings.lang
    tz: str = args.tz or settings.tz
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {tz!r}") from exc
    node = None
    if args.rule is not None:
        try:
            node = parse_rule(args.rule)
        except RuleSyntaxError as exc:
            raise UsageError(f"--rule: {exc}") from exc
    style = settings.drafts.house_style()
    async with open_store(settings, read_only=True) as store:
        post = await store.posts.get_by_link(username, message_id)
        if post is None:
            raise UsageError(f"no stored post {args.link.strip()} (import or follow it first)")
        source = await store.sources.get(post.source_id)
        origin = await lookup_origin(store, post)
        if node is not None:
            match = match_rule(node, post.text, post.channel)
            if match is None:
                print(f"note: the rule does not match this post: {args.rule}", file=sys.stderr)
            spans = match.spans if match is not None else ()
            rule_text: str | None = args.rule
        else:
            ctx = await best_rule_context(store, post)
            spans = ctx.spans
            rule_text = ctx.rule.query if ctx.rule is not None else None
        # More than it shows, as the drafter asks: an update drops its thread from it.
        shown = settings.drafts.background
        wanted = shown + THREAD_LOOKBACK if shown else 0
        earlier = await earlier_posts(store, post, rule_text, limit=wanted)
    # A post that follows one of the same source on the same topic within the thread window is
    # an update: the draft opens with the paragraph to add to the story. The thread is that
    # post and each before it within the window of the next, as the alerts' replies chain:
    # they are the story itself, not background. The newest is the one its alert replies to.
    window = settings.drafts.thread_window
    thread: list[Earlier] = []
    last = post.date
    for e in earlier.items:  # newest first
        if e.post.date < last - window:
            break
        if e.post.channel == post.channel:
            thread.append(e)
            last = e.post.date
    head = thread[0] if thread else None
    update = head is not None
    thread_date = head.post.date if head is not None else None
    told = {id(e) for e in thread}
    earlier = earlier.without(lambda e: id(e) in told).at_most(settings.drafts.background)
    try:
        names = [f.entry for f in load_glossary(settings.drafts.glossary).find(post.text)]
    except GlossaryError as exc:
        raise UsageError(str(exc)) from exc
    kind: Kind = "delete" if post.deleted_at is not None else "new"
    now = datetime.now(UTC)
    options = DraftOptions(
        lang=lang,
        tz=tz,
        spans=spans,
        origin_source=origin.source,
        origin_date=origin.date,
        now=now,
        style=style,
        glossary=names,
    )
    payload = compose_alert(
        kind,
        post,
        source,
        options,
        rule=rule_text,
        update=update,
        thread_date=thread_date,
        background=earlier,
    )
    draft = build_draft(post, source, options)
    translation = await _translate(settings, draft.quote, post.text, lang)
    if not args.json:
        print(terminal_text(payload["plain"], lines=True))
        if translation:
            print("\n" + terminal_text(translation["plain"], lines=True))
        return 0
    print_json(
        {
            "kind": kind,
            "post_id": post.id,
            "permalink": draft.link,
            "lead": draft.lead,
            "quote": draft.quote,
            "quote_start": draft.quote_start,
            "quote_end": draft.quote_end,
            "quote_printed": draft.styled.text if draft.styled is not None else None,
            "rule": rule_text,
            "when": draft.when,
            "credit": draft.credit,
            "names": list(draft.names),
            "update": update,
            "background": [e.post.permalink for e in earlier.items],
            "translation": translation,
            **payload,
        }
    )
    return 0


async def _translate(
    settings: Settings, quote: str | None, text: str, lang: str
) -> dict[str, Any] | None:
    """The quote's machine translation as the alert's reply would carry it, when a DeepL or
    LibreTranslate provider is configured and the post is in another language."""
    cfg = settings.translation
    source = post_language(text)
    if quote is None or source is None or source == lang or cfg.provider == "off":
        return None
    try:
        translator = configured_translator(cfg)
    except TranslationError as exc:
        return translation_payload(lang, error=str(exc))
    if translator is None:
        why = "Telegram's translation works inside the running service only"
        return translation_payload(lang, error=why)
    try:
        translated = await asyncio.wait_for(
            translator.translate(quote, source=source, target=lang), cfg.timeout
        )
    except TimeoutError:
        return translation_payload(
            lang, error=f"{translator.name}: no answer in {cfg.timeout:g} s"
        )
    except TranslationError as exc:
        return translation_payload(lang, error=str(exc))
    return translation_payload(lang, translated=translated, provider=translator.name)
