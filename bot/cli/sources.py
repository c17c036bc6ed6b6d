"""`wirewatch sources add|remove|list`: the bot's `/watch`, `/unwatch`, `/sources`.

From the command line there is no listener: a source is registered in the database and the
service follows it when it (re)starts or refreshes its sources.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.accounts import register_assign
from bot.cli.common import (
    add_verb,
    open_store,
    print_listing,
    print_result,
    sources_file_note,
    terminal_text,
    verb_group,
)
from bot.desk.desk import Desk
from bot.settings import Settings
from storage.models import LANGS, Source
from storage.records import note_text


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    verbs = verb_group(sub, "sources", "channels to follow and who speaks in them")
    add = add_verb(
        verbs,
        "add",
        parent=parent,
        help_text="add a channel (or update its people)",
        func=cmd_add,
    )
    add.add_argument("channel", help="@username or https://t.me/username")
    add.add_argument("--person", help='who speaks, e.g. "Olena Marchuk"')
    add.add_argument("--role", help='their position, e.g. "Minister of Energy"')
    add.add_argument("--lang", choices=LANGS, help="language of --person/--role (default: uk)")
    add.add_argument(
        "--gender",
        choices=("m", "f", "n", "pl"),
        help="grammatical gender and number for drafts (n: neuter, pl: plural)",
    )
    rm = add_verb(
        verbs, "remove", parent=parent, help_text="stop following a channel", func=cmd_remove
    )
    rm.add_argument("channel")
    add_verb(
        verbs, "list", parent=parent, help_text="every channel, followed or not", func=cmd_list
    )
    register_assign(verbs, parent)


def source_json(s: Source) -> dict[str, Any]:
    return {
        "id": s.id,
        "username": s.username,
        "active": s.active,
        "person": {k: v for k, v in s.person.items() if v},
        "role": {k: v for k, v in s.role.items() if v},
        "gender": s.gender,
        "last_post_at": s.last_post_at.isoformat() if s.last_post_at else None,
        "error": note_text(s.error) or None,
    }


def source_line(s: Source, lang: str) -> str:
    who = " · ".join(x for x in (s.person_in(lang), s.role_in(lang)) if x) or "-"
    state = "" if s.active else "  (not followed)"
    err = f"  error: {note_text(s.error)}" if s.error else ""
    return terminal_text(f"@{s.username:32} {who}{state}{err}")


async def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings) as store:
        res = await Desk(store, settings).watch(
            args.channel,
            person=args.person,
            role=args.role,
            lang=args.lang or settings.lang,
            gender=args.gender,
            actor=None,
        )
    verb = "added" if res.created else "updated"
    print_result(
        args.json,
        source_json(res.source) | {"created": res.created},
        f"@{res.source.username} {verb}; the listener follows it when the service runs",
    )
    return 0


async def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, must_exist=True) as store:
        src = await Desk(store, settings).unwatch(args.channel, actor=None)
    print_result(
        args.json,
        source_json(src),
        f"@{src.username} is no longer followed (its posts stay searchable)",
    )
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, read_only=True) as store:
        sources = await Desk(store, settings).sources()
    print_listing(
        sources,
        as_json=args.json,
        to_json=source_json,
        to_line=lambda s: source_line(s, settings.lang),
        empty="no sources yet: "
        + (
            sources_file_note(settings)
            or "add with `wirewatch sources add @channel --person ... --role ...`"
        ),
    )
    return 0
