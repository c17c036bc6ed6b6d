"""Editors: following channels (/watch, /unwatch) and the service's health (/status)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.desk.desk import Desk
from bot.desk.glossary_file import GlossaryWatch, add_entry, load_glossary, remove_entry
from bot.desk.inputs import DeskError, clip
from bot.desk.words import GLOSSARY_VERBS, KIND_WORDS
from bot.drafting.glossary import Entry, GlossaryError
from bot.drafting.html import Run, join_runs
from bot.handlers.access import MinRole
from bot.handlers.common import answer_error, answer_runs, answer_usage
from bot.i18n import N_, Translator
from storage.models import Person

log = logging.getLogger(__name__)

# Characters of a glossary entry repeated in a reply: enough to recognise it.
_ENTRY_SHOWN = 300
# The glossary's kinds as /glossary lists them (typed in either alphabet: bot.desk.words).
_KIND_NAMES = {"person": N_("person"), "place": N_("place"), "institution": N_("institution")}
# The outbox's statuses as /status lists them, in this order, each a line of its own: the raw
# words ("given_up 1, failed 2") were English in every language and told an editor nothing.
_OUTBOX_LINES = {
    "drafting": N_("drafts being written: {n}"),
    "pending": N_("waiting to be sent: {n}"),
    "held": N_("held (quiet hours, paused or blocked): {n}"),
    "sent": N_("sent: {n}"),
    "failed": N_("failed to deliver: {n}"),
    "given_up": N_("translations given up: {n}"),
    "cancelled": N_("cancelled, the person was removed from the desk: {n}"),
}

StatusFn = Callable[[], Any]
GLOSSARY_FIELDS = N_(
    "An entry has at most four fields, uk | en | ru | English note, and a name has no '|' in it."
)


async def live_status(status: StatusFn | None) -> dict[str, Any]:
    """The service's own view (listener, FloodWait, last error); {} without a service.

    Accepts a callable returning a dict, or (healthy, dict) as the service's health check does.
    """
    if status is None:
        return {}
    result = status()
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        result = result[1]
    return result if isinstance(result, dict) else {}


def _human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _ago(iso: str | None, tr: Translator) -> str:
    if not iso:
        return tr.gettext("no posts yet")
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    if seconds < 3600:
        return tr.ngettext("{n} minute ago", "{n} minutes ago", max(0, seconds) // 60)
    if seconds < 86400 * 2:
        return tr.ngettext("{n} hour ago", "{n} hours ago", seconds // 3600)
    return tr.ngettext("{n} day ago", "{n} days ago", seconds // 86400)


def _still_ahead(value: object) -> bool:
    """A FloodWait end still in the future (an unreadable one is shown, to be safe)."""
    try:
        return datetime.fromisoformat(str(value)) > datetime.now(UTC)
    except ValueError:
        return True


def status_runs(db: dict[str, Any], live: dict[str, Any], tr: Translator) -> list[Run]:
    """/status text: the service's live view where it has one, the database's otherwise."""
    nested = live.get("listener")
    listener: dict[str, Any] = nested if isinstance(nested, dict) else live
    state: dict[str, str] = db.get("state", {})
    connected = listener.get("connected")
    if connected is None and "listener.connected" in state:
        connected = state["listener.connected"] == "yes"
    conn_text = {
        True: tr.gettext("connected"),
        False: tr.gettext("NOT connected"),
        None: tr.gettext("not running (no Telegram credentials, or not started)"),
    }[connected]
    flood = listener.get("flood_wait_until") or state.get("listener.flood_wait_until")
    if flood and not _still_ahead(flood):
        flood = None
    raw_notifier = live.get("notifier")
    notifier: dict[str, Any] = raw_notifier if isinstance(raw_notifier, dict) else {}
    # Notes are stored as msgid and parameters (storage.records.person_note): each editor
    # reads them in their language; the notifier's last error is Telegram's own words.
    last_error = (
        tr.note(listener.get("last_error_note") or listener.get("last_error"))
        or tr.note(state.get("listener.last_error"))
        or notifier.get("last_error")
        or tr.gettext("none")
    )
    outbox: dict[str, int] = db.get("outbox", {})
    depth = "\n" + tr.gettext("Outbox: {n} waiting", n=db.get("outbox_depth", 0))
    order = {k: i for i, k in enumerate(_OUTBOX_LINES)}
    for status in sorted(outbox, key=lambda k: (order.get(k, len(order)), k)):
        line = _OUTBOX_LINES.get(status)
        n = outbox[status]
        depth += "\n · " + (tr.gettext(line, n=n) if line else f"{status}: {n}")
    posts = int(db.get("posts", 0))
    runs = join_runs(
        [Run(tr.gettext("Status"), "b")],
        "\n" + tr.gettext("Listener: {state}", state=conn_text),
        "\n"
        + (
            tr.gettext("FloodWait: until {time}", time=flood)
            if flood
            else tr.gettext("FloodWait: none")
        ),
        "\n" + tr.gettext("Last error: {error}", error=last_error),
        depth,
        "\n"
        + tr.ngettext(
            "Database: {size}, {n} post",
            "Database: {size}, {n} posts",
            posts,
            size=_human_size(int(db.get("db_bytes", 0))),
        ),
    )
    sources = db.get("sources", [])
    if sources:
        runs = join_runs(runs, "\n\n", [Run(tr.gettext("Last post per source"), "b")])
        for s in sources:
            flag = "" if s["active"] else " " + tr.gettext("(not followed)")
            err = f" ⚠️ {tr.note(s['error'])}" if s.get("error") else ""
            ago = _ago(s["last_post_at"], tr)
            runs = join_runs(runs, f"\n@{s['username']}{flag}: {ago}{err}")
    return runs


def _entry_line(entry: Entry, tr: Translator) -> str:
    """One /glossary line, clipped: a hand-edited file may hold anything."""
    kind = tr.gettext(_KIND_NAMES[entry.kind]) if entry.kind in _KIND_NAMES else entry.kind
    names = " / ".join(entry.names.values())
    return clip(f"{kind}: {entry.line(tr.lang)} ({names})", _ENTRY_SHOWN)


def editor_router() -> Router:
    router = Router(name="editor")
    router.message.filter(MinRole("editor"))

    @router.message(Command("watch"))
    async def watch(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        args = (command.args or "").strip()
        if not args:
            await answer_usage(message, "watch", tr)
            return
        ref, _, rest = args.partition(" ")
        if rest.count("|") > 1:
            # "A | B | C" would store "B | C" as the role: ask instead of guessing.
            await answer_usage(
                message,
                "watch",
                tr,
                tr.gettext(
                    "Write one '|' between the person and the role, not {n}.",
                    n=rest.count("|"),
                ),
            )
            return
        who, _, role = rest.partition("|")
        progress = await message.answer(
            "⏳ " + tr.gettext("Following {channel}…", channel=ref[:64])
        )
        try:
            res = await desk.watch(
                ref,
                person=who.strip() or None,
                role=role.strip() or None,
                lang=person.lang,
                actor=message.from_user.id if message.from_user else None,
            )
        except DeskError as exc:
            await progress.edit_text(f"⚠️ {tr.error(exc)[:600]}")
            return
        src = res.source
        who_text = " · ".join(
            x for x in (src.person_in(person.lang), src.role_in(person.lang)) if x
        )
        text = (
            tr.gettext("@{channel} followed now.", channel=src.username)
            if res.followed
            else tr.gettext(
                "@{channel} registered; the listener is not running here, so it is followed "
                "when it starts.",
                channel=src.username,
            )
        )
        await progress.edit_text("✅ " + text + (f"\n{who_text}" if who_text else ""))

    @router.message(Command("unwatch"))
    async def unwatch(
        message: Message, command: CommandObject, person: Person, desk: Desk, tr: Translator
    ) -> None:
        parts = (command.args or "").split()
        if len(parts) != 1:
            await answer_usage(message, "unwatch", tr)
            return
        try:
            src = await desk.unwatch(
                parts[0], actor=message.from_user.id if message.from_user else None
            )
        except DeskError as exc:
            await answer_error(message, tr.error(exc))
            return
        await message.answer(
            tr.gettext(
                "@{channel} is no longer followed; its posts stay searchable.",
                channel=src.username,
            )
        )

    @router.message(Command("status"))
    async def status(
        message: Message, desk: Desk, tr: Translator, status: StatusFn | None = None
    ) -> None:
        try:
            live = await live_status(status)
        except Exception:  # the status of a failing service must still be shown
            log.exception("status callable failed")
            live = {"last_error": tr.gettext("the service did not report its status")}
        await answer_runs(message, status_runs(await desk.status(), live, tr))

    @router.message(Command("glossary"))
    async def glossary(
        message: Message, command: CommandObject, glossary: GlossaryWatch, tr: Translator
    ) -> None:
        args = (command.args or "").strip()
        verb, _, rest = args.partition(" ")
        verb = GLOSSARY_VERBS.get(verb.lower(), verb)
        path = glossary.path
        if path is None:
            await answer_error(message, tr.gettext("no glossary file is configured"))
            return
        lang = tr.lang
        try:
            if not args:
                entries = load_glossary(path).entries
                # One line per entry, each clipped: a hand-edited file may hold anything, and the
                # list goes out in as many messages as it needs.
                lines = [_entry_line(e, tr) for e in entries]
                empty = tr.gettext("The glossary is empty.")
                await answer_runs(message, [Run("\n".join(lines) or empty)])
                return
            if verb == "add":
                kind, _, names = rest.strip().partition(" ")
                kind = KIND_WORDS.get(kind.lower(), kind)  # "особа", "місце", "установа"
                if kind not in _KIND_NAMES:
                    # The kinds named as the reader types them, not the file's English keys.
                    kinds = ", ".join(tr.gettext(name) for name in _KIND_NAMES.values())
                    problem = tr.gettext(
                        "kind must be one of {kinds}, not '{kind}'", kinds=kinds, kind=clip(kind)
                    )
                    await answer_usage(message, "glossary", tr, problem)
                    return
                if not names.strip():
                    await answer_usage(message, "glossary", tr)
                    return
                if names.count("|") > 3:
                    # A fifth field was dropped without a word: a '|' inside a name, or a typo.
                    await answer_usage(message, "glossary", tr, tr.gettext(GLOSSARY_FIELDS))
                    return
                fields = [f.strip() for f in names.split("|")] + [""] * 4
                entry, replaced = add_entry(
                    path,
                    kind,
                    {"uk": fields[0], "en": fields[1], "ru": fields[2]},
                    {"en": fields[3]},
                    keep=True,
                )
                shown = clip(entry.line(lang), _ENTRY_SHOWN)
                done = (
                    tr.gettext("Replaced: {entry}", entry=shown)
                    if replaced
                    else tr.gettext("Added: {entry}", entry=shown)
                )
                await message.answer(done)
                return
            if verb == "remove" and rest.strip():
                removed = remove_entry(path, rest.strip())
                if removed is None:
                    missing = tr.gettext("no glossary entry named '{name}'", name=clip(rest))
                    await answer_error(message, missing)
                    return
                shown = clip(removed.line(lang), _ENTRY_SHOWN)
                await message.answer(tr.gettext("Removed: {entry}", entry=shown))
                return
        except GlossaryError as exc:
            await answer_usage(message, "glossary", tr, tr.error(exc))
            return
        await answer_usage(message, "glossary", tr)

    return router
