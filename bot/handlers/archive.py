"""Archive commands: /search with paging, /post, /export, and the alert buttons that read the
archive ("Full text", "Related posts")."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
)

from bot.desk.glossary_file import GlossaryWatch
from bot.desk.inputs import clip
from bot.desk.nothing_found import desk_names, nothing_found_hints, typed_hints
from bot.desk.search import (
    QueryError,
    SearchPage,
    search_posts,
    spelling_hints,
)
from bot.drafting.background import background_runs
from bot.drafting.draft import DraftOptions
from bot.drafting.excerpts import snippet
from bot.drafting.glossary import Glossary
from bot.drafting.html import MESSAGE_LIMIT, Run, escape, join_runs
from bot.drafting.style import DEFAULT_STYLE, HouseStyle
from bot.handlers.access import MinRole
from bot.handlers.common import (
    NO_PREVIEW,
    answer_error,
    answer_usage,
    lines,
    reply_target,
    send_runs,
)
from bot.handlers.export import export_files, export_sheet
from bot.i18n import N_, Translator
from bot.ingest.origins import (
    alert_context,
    best_rule_context,
    compose_with_origin,
    earlier_posts,
)
from bot.matching import RuleSyntaxError
from storage.models import Person, StoredPost
from storage.records import SourceError, parse_permalink
from storage.store import Store

log = logging.getLogger(__name__)

PAGE_SIZE = 5
EXPORT_LIMIT = 2000  # posts in one export file
MAX_SEARCH_QUERY = 500


@dataclass
class SearchSession:
    token: str
    user_id: int
    query: str
    cursors: list[tuple[int, int] | None] = field(default_factory=lambda: [None])


class PageStore:
    """Search sessions kept in the database, so a paging button's callback_data stays tiny
    (`page:<8 hex>:<page number>`) and still works after a restart. Bounded by count and age
    (storage.search_sessions); an unknown or pruned session asks for a new search."""

    async def new(self, store: Store, user_id: int, query: str) -> SearchSession:
        token = secrets.token_hex(4)
        await store.search_sessions.create(token, user_id, query)
        return SearchSession(token, user_id, query)

    async def get(self, store: Store, token: str, user_id: int) -> SearchSession | None:
        found = await store.search_sessions.get(token, user_id)
        if found is None:
            return None
        query, cursors = found
        return SearchSession(token, user_id, query, cursors)


def _zone(person: Person) -> ZoneInfo:
    return ZoneInfo(person.tz)


def _flags(post: StoredPost, tr: Translator) -> str:
    edited = " ✏️ " + tr.gettext("edited") if post.version > 1 else ""
    return edited + (" 🗑 " + tr.gettext("deleted") if post.deleted_at else "")


def _times_in(person: Person, tr: Translator) -> str:
    return tr.gettext("times in {zone}", zone=person.tz)


async def _who(store: Store, post: StoredPost, lang: str) -> str:
    src = await store.sources.get(post.source_id)
    name = src.person_in(lang) if src is not None else None
    return f"{name} (@{post.channel})" if name else f"@{post.channel}"


async def search_hints_html(store: Store, query: str, zone: ZoneInfo, tr: Translator) -> str:
    """Lines (HTML) under a search that found nothing, saying what in the query may be why
    (bot.desk.nothing_found); '' when nothing explains it."""
    hints = await nothing_found_hints(store, query, zone)
    return "".join("\n💡 " + escape(tr.message(hint)) for hint in hints)


def _page_button(text: str, token: str, number: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=f"page:{token}:{number}")


async def render_page(
    store: Store,
    person: Person,
    query: str,
    page: SearchPage,
    number: int,
    token: str,
    tr: Translator,
    glossary: Glossary | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    zone = _zone(person)
    head = f"🔎 <b>{escape(clip(query, 80))}</b>"
    # The glossary's other spellings of a name searched (Umerov for Умєров), under the first
    # page whether or not it found posts: what it found is not all there is.
    # So are a filter typed wrong and a channel pasted as a word: what they found, if
    # anything, is not what was meant.
    spellings = "".join(
        "\n💡 " + escape(tr.message(hint))
        for hint in [
            *typed_hints(query, zone),
            *spelling_hints(query, await desk_names(store, glossary), person.lang),
        ]
        if number == 0
    )
    if not page.hits:
        if number > 0:
            return f"{head}\n" + escape(tr.gettext("No more posts.")), None
        hints = await search_hints_html(store, query, zone, tr)
        return f"{head}\n" + escape(tr.gettext("No posts found.")) + hints + spellings, None
    # The zone named, as /mute, /quiet and /digest do: times in a /tz other than the phone's
    # read as the phone's.
    page_line = tr.gettext("page {n}", n=number + 1) + " · " + _times_in(person, tr)
    parts = [f"{head} · " + escape(page_line)]
    for n, hit in enumerate(page.hits, start=number * PAGE_SIZE + 1):
        post = hit.post
        when = post.date.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        who = escape(await _who(store, post, person.lang))
        text = snippet(hit.text, hit.spans, width=220, escape=escape, mark=("<b>", "</b>"))
        if hit.in_image:
            # Read from the post's picture: never shown as the official's words.
            label = escape(tr.gettext("The image reads"))
            text = f"🖼 <i>{label}:</i> {text}"
        parts.append(
            f"\n{n}. <b>{who}</b> · {when}{escape(_flags(post, tr))}\n{text or '—'}\n"
            f"{escape(post.permalink)}"
        )
    row: list[InlineKeyboardButton] = []
    if number > 0:
        row.append(_page_button("‹ " + tr.gettext("Newer"), token, number - 1))
    if page.cursor is not None:
        row.append(_page_button(tr.gettext("Older") + " ›", token, number + 1))
    markup = InlineKeyboardMarkup(inline_keyboard=[row]) if row else None
    return "\n".join(parts) + ("\n" + spellings if spellings else ""), markup


async def run_page(
    store: Store, person: Person, session: SearchSession, number: int
) -> SearchPage:
    page = await search_posts(
        store, session.query, zone=_zone(person), limit=PAGE_SIZE, before=session.cursors[number]
    )
    # Older › goes on from the last post on screen. The first page has no cursor of its own:
    # when new posts arrived since, it shows them and ends elsewhere, so the pages after it
    # are paged again from there (keeping the old cursors skipped every post between).
    ahead = session.cursors[: number + 1] + ([page.cursor] if page.cursor is not None else [])
    if session.cursors[: len(ahead)] != ahead or (
        page.cursor is None and len(session.cursors) > number + 1
    ):
        session.cursors = ahead
        await store.search_sessions.save(session.token, session.cursors)
    return page


_WORD_RE = re.compile(r"[^\W\d_]{6,}")


def related_query(post: StoredPost) -> str | None:
    """The post's longest distinct words, OR-ed: a cheap "more like this" in the rule grammar."""
    seen: dict[str, str] = {}
    for word in _WORD_RE.findall(post.text):
        seen.setdefault(word.casefold(), word)
    words = sorted(seen.values(), key=len, reverse=True)[:4]
    return " OR ".join(words) if words else None


def archive_router() -> Router:
    router = Router(name="archive")
    router.message.filter(MinRole("journalist"))
    router.callback_query.filter(MinRole("journalist"))

    @router.message(Command("search"))
    async def search(
        message: Message,
        command: CommandObject,
        person: Person,
        store: Store,
        pages: PageStore,
        glossary: GlossaryWatch,
        tr: Translator,
    ) -> None:
        query = await _query_arg(message, command, "search", tr)
        if query is None:
            return
        session = await pages.new(store, person.user_id or 0, query)
        token = session.token
        try:
            page = await run_page(store, person, session, 0)
        except (QueryError, RuleSyntaxError) as exc:
            await answer_usage(message, "search", tr, tr.error(exc))
            return
        text, markup = await render_page(
            store, person, query, page, 0, token, tr, glossary.current()
        )
        await message.answer(
            text, parse_mode="HTML", reply_markup=markup, link_preview_options=NO_PREVIEW
        )

    @router.callback_query(lambda q: (q.data or "").startswith("page:"))
    async def paging(
        query: CallbackQuery,
        person: Person,
        store: Store,
        pages: PageStore,
        glossary: GlossaryWatch,
        tr: Translator,
    ) -> None:
        m = re.fullmatch(r"page:([0-9a-f]{8}):(\d{1,4})", query.data or "")
        session = await pages.get(store, m.group(1), query.from_user.id) if m else None
        number = int(m.group(2)) if m else 0
        if session is None and m is not None:
            owner = await store.search_sessions.owner(m.group(1))
            if owner is not None and owner != query.from_user.id:
                # A colleague in a desk group: the search is alive, but its pages are drawn in
                # its owner's language and time zone.
                await query.answer(
                    tr.gettext(
                        "Only the person who ran this search can turn its pages; send /search "
                        "yourself."
                    ),
                    show_alert=True,
                )
                return
        if session is None or number >= len(session.cursors):
            await query.answer(
                tr.gettext("This search has expired; run /search again."), show_alert=True
            )
            return
        try:
            page = await run_page(store, person, session, number)
        except (QueryError, RuleSyntaxError) as exc:
            await query.answer(clip(tr.error(exc), 190), show_alert=True)
            return
        assert m is not None  # a session was found by it
        text, markup = await render_page(
            store, person, session.query, page, number, m.group(1), tr, glossary.current()
        )
        await query.answer()
        if isinstance(query.message, Message):
            try:
                await query.message.edit_text(
                    text, parse_mode="HTML", reply_markup=markup, link_preview_options=NO_PREVIEW
                )
            except TelegramBadRequest as exc:
                # A double tap: the page asked for is the one on screen already.
                if "not modified" not in exc.message:
                    raise
        else:
            bot, chat_id = reply_target(query)
            await bot.send_message(
                chat_id,
                text,
                parse_mode="HTML",
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )

    @router.message(Command("post"))
    async def post(
        message: Message,
        command: CommandObject,
        person: Person,
        store: Store,
        style: HouseStyle,
        glossary: GlossaryWatch,
        tr: Translator,
    ) -> None:
        arg = (command.args or "").strip()
        if not arg:
            await answer_usage(message, "post", tr)
            return
        if _PRIVATE_LINK.match(arg.split()[0]):
            await answer_error(message, tr.gettext(_NO_USERNAME))
            return
        try:
            channel, message_id = parse_permalink(arg.split()[0])
        except SourceError:
            # storage's own wording is English; the reader gets the same point in theirs
            problem = tr.gettext("not a link to a Telegram post: {text}", text=clip(arg, 80))
            await answer_usage(message, "post", tr, problem)
            return
        await _open_post(message, channel, message_id, person, store, style, glossary, tr)

    @router.message(_post_reference)
    async def post_by_reference(
        message: Message,
        person: Person,
        store: Store,
        style: HouseStyle,
        glossary: GlossaryWatch,
        tr: Translator,
    ) -> None:
        # A channel post forwarded to the bot, or its link pasted alone: what a journalist
        # does with a post seen in Telegram, meaning /post (it got "Send a command").
        found = _post_reference_of(message)
        if found is None:  # the filter said it is a channel's post: one without a username
            await answer_error(message, tr.gettext(_NO_USERNAME))
            return
        await _open_post(message, *found, person, store, style, glossary, tr)

    @router.message(Command("export"))
    async def export(
        message: Message, command: CommandObject, person: Person, store: Store, tr: Translator
    ) -> None:
        query = await _query_arg(message, command, "export", tr)
        if query is None:
            return
        progress = await message.answer("⏳ " + tr.gettext("Exporting…"))
        try:
            page = await search_posts(store, query, zone=_zone(person), limit=EXPORT_LIMIT)
        except (QueryError, RuleSyntaxError) as exc:
            await progress.edit_text("⚠️ " + escape(clip(tr.error(exc), 300)), parse_mode="HTML")
            return
        posts = [h.post for h in page.hits]
        if not posts:
            await progress.edit_text(tr.gettext("No posts found; nothing to export."))
            return
        csv_bytes, json_bytes = export_files(posts, _zone(person))
        done = tr.ngettext("{n} post", "{n} posts", len(posts))
        if page.cursor:
            done += " " + tr.gettext(
                "(the newest {limit}; narrow with since:/until:)", limit=EXPORT_LIMIT
            )
        await progress.edit_text(f"✅ {done}")
        await message.answer_document(BufferedInputFile(csv_bytes, "wirewatch-export.csv"))
        sheet = export_sheet(posts, _zone(person))
        await message.answer_document(BufferedInputFile(sheet, "wirewatch-export.xlsx"))
        await message.answer_document(BufferedInputFile(json_bytes, "wirewatch-export.json"))

    @router.callback_query(lambda q: (q.data or "").startswith("full:"))
    async def full(
        query: CallbackQuery,
        person: Person,
        store: Store,
        style: HouseStyle,
        glossary: GlossaryWatch,
        tr: Translator,
    ) -> None:
        stored = await _post_from(query, store, tr)
        if stored is None:
            return
        await query.answer()
        bot, chat_id = reply_target(query)
        await send_post(
            bot, chat_id, person, store, stored, tr, versions=False, style=style, glossary=glossary
        )

    @router.callback_query(lambda q: (q.data or "").startswith("rel:"))
    async def related(
        query: CallbackQuery, person: Person, store: Store, style: HouseStyle, tr: Translator
    ) -> None:
        stored = await _post_from(query, store, tr)
        if stored is None:
            return
        # Background, looking back: older posts matching the rule the alert fired on (or, for
        # a post nobody was alerted about, the desk rule it matches; else its longest words).
        ctx = await alert_context(store, stored, person.id)
        if ctx.rule is None:
            ctx = await best_rule_context(store, stored)
        q = ctx.rule.query if ctx.rule is not None else related_query(stored)
        found = await earlier_posts(store, stored, q, limit=PAGE_SIZE)
        await query.answer()
        bot, chat_id = reply_target(query)
        if not found.items:
            await bot.send_message(chat_id, tr.gettext("No earlier posts on this topic."))
            return
        # Asked for: as many lines as one message holds, each as short as in an alert.
        runs = background_runs(
            found,
            person.lang,
            person.tz,
            now=datetime.now(UTC),
            style=style,
            room=MESSAGE_LIMIT,
            chars=None,
        )
        await send_runs(bot, chat_id, runs)

    return router


async def _query_arg(
    message: Message, command: CommandObject, name: str, tr: Translator
) -> str | None:
    """The query typed after /search or /export; None (usage answered) if missing or too long."""
    query = (command.args or "").strip()
    if not query:
        await answer_usage(message, name, tr)
        return None
    if len(query) > MAX_SEARCH_QUERY:
        problem = tr.gettext("a query is at most {n} characters", n=MAX_SEARCH_QUERY)
        await answer_usage(message, name, tr, problem)
        return None
    return query


async def _post_from(query: CallbackQuery, store: Store, tr: Translator) -> StoredPost | None:
    """The post an alert button names; None (the button answered) when it is gone."""
    m = re.fullmatch(r"[a-z]+:(\d{1,12})", query.data or "")
    stored = await store.posts.get_by_id(int(m.group(1))) if m else None
    if stored is None:
        await query.answer(tr.gettext("That post is no longer stored."), show_alert=True)
    return stored


_NO_USERNAME = N_(
    "That post is from a channel without a public @username: it cannot be looked up."
)
# Telegram's "Copy link" in a private channel: t.me/c/<channel id>/<post>. The desk follows
# channels by their @username, so such a post is never ours to show; saying so beats "not a
# link" (after /post) or "Send a command" (pasted alone).
_PRIVATE_LINK = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/c/\d+/\d+(?:/\d+)?/?(?:[?#]\S*)?$",
    re.IGNORECASE,
)


def _is_private_link(message: Message) -> bool:
    text = (message.text or "").strip()
    return len(text.split()) == 1 and _PRIVATE_LINK.match(text) is not None


def _post_reference_of(message: Message) -> tuple[str, int] | None:
    """(channel, message id) of a forwarded channel post with a public username, or of a
    message that is only a post link."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        username = origin.chat.username
        return (username.lower(), origin.message_id) if username else None
    if origin is not None:
        return None
    text = (message.text or "").strip()
    if not text or len(text.split()) != 1:
        return None
    try:
        return parse_permalink(text)
    except SourceError:
        return None


async def _post_reference(message: Message) -> bool:
    # A channel's post forwarded, even from a channel without a username: it gets an answer
    # that says why it cannot be looked up, not "Send a command".
    return (
        isinstance(message.forward_origin, MessageOriginChannel)
        or _is_private_link(message)
        or _post_reference_of(message) is not None
    )


async def _open_post(
    message: Message,
    channel: str,
    message_id: int,
    person: Person,
    store: Store,
    style: HouseStyle,
    glossary: GlossaryWatch,
    tr: Translator,
) -> None:
    """/post's answer: the stored post with every version and its draft, or why not."""
    stored = await store.posts.get_by_link(channel, message_id)
    if stored is None:
        source = await store.sources.by_username(channel)
        if source is None:
            # "no stored post" read as if the listener had missed it: nothing of a channel
            # the desk does not follow is stored, and the journalist may not know that.
            problem = tr.gettext(
                "We do not follow @{channel}, so its posts are not stored; an editor can add "
                "it with /watch @{channel}.",
                channel=channel,
            )
        else:
            link = f"https://t.me/{channel}/{message_id}"
            problem = tr.gettext("no stored post at {link}", link=link)
        await answer_error(message, problem)
        return
    assert message.bot is not None
    await send_post(
        message.bot,
        message.chat.id,
        person,
        store,
        stored,
        tr,
        versions=True,
        style=style,
        glossary=glossary,
    )


async def send_post(
    bot: Bot,
    chat_id: int,
    person: Person,
    store: Store,
    post: StoredPost,
    tr: Translator,
    *,
    versions: bool,
    style: HouseStyle = DEFAULT_STYLE,
    glossary: GlossaryWatch | None = None,
) -> None:
    """The whole post (every version when asked), then its draft ready to paste: quoted as the
    person's alert about it was, by the rule that fired."""
    zone = _zone(person)
    src = await store.sources.get(post.source_id)
    when = post.date.astimezone(zone).strftime("%Y-%m-%d %H:%M") + f" ({person.tz})"
    head = f"{await _who(store, post, person.lang)} · {when}{_flags(post, tr)}"
    runs: list[Run] = lines([Run(head, "b")], post.permalink)
    history = await store.posts.versions(post.id) if versions else []
    if len(history) > 1:
        for v in history:
            # The first text dates from the post itself; when we stored it says nothing to a
            # journalist (an import or a catch-up stores year-old posts today).
            first = post.date if v.version == 1 else v.recorded_at
            stamp = (v.edit_date or first).astimezone(zone).strftime("%Y-%m-%d %H:%M")
            runs = join_runs(
                runs,
                "\n\n",
                [Run(tr.gettext("Version {n} · {time}", n=v.version, time=stamp), "b")],
                "\n",
                v.text or tr.gettext("(no text)"),
            )
    else:
        runs = join_runs(runs, "\n\n", post.text or tr.gettext("(no text)"))
    await send_runs(bot, chat_id, runs)
    if not post.text.strip():
        return
    ctx = await alert_context(store, post, person.id)
    names = [f.entry for f in glossary.current().find(post.text)] if glossary else []
    draft = await compose_with_origin(
        store,
        "new",
        post,
        src,
        DraftOptions(lang=person.lang, tz=person.tz, spans=ctx.spans, style=style, glossary=names),
    )
    title = "📝 " + tr.gettext("Draft")
    await send_runs(bot, chat_id, join_runs([Run(title, "b")], "\n", draft["plain"]))
