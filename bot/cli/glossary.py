"""`wirewatch glossary add|list|remove`: the desk's names in uk/en/ru (the bot's /glossary).

The glossary is a TOML file (`WIREWATCH_DRAFTS__GLOSSARY`); the running service re-reads it
when it changes, so an entry added here shows in the next draft.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import (
    UsageError,
    add_verb,
    print_listing,
    print_result,
    terminal_text,
    verb_group,
)
from bot.desk.glossary_file import add_entry, load_glossary, remove_entry
from bot.drafting.glossary import KINDS, Entry, GlossaryError
from bot.settings import Settings


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    verbs = verb_group(sub, "glossary", "names of people, places and institutions in uk/en/ru")
    add = add_verb(
        verbs,
        "add",
        parent=parent,
        help_text="add a name (or replace the entry that has it)",
        func=cmd_add,
    )
    add.add_argument("--kind", choices=KINDS, default="person")
    for lang in ("uk", "en", "ru"):
        add.add_argument(f"--{lang}", metavar="NAME", help=f"the name in {lang}, nominative")
        add.add_argument(
            f"--note-{lang}", metavar="TEXT", help=f"who or what it is, in {lang} (optional)"
        )
    add.add_argument(
        "--alias", action="append", default=[], help="another form to recognise (repeatable)"
    )
    rm = add_verb(
        verbs,
        "remove",
        parent=parent,
        help_text="remove the entry with this name",
        func=cmd_remove,
    )
    rm.add_argument("name", help="the entry's name in any language")
    ls = add_verb(verbs, "list", parent=parent, help_text="every entry", func=cmd_list)
    ls.add_argument("--lang", choices=("uk", "en", "ru"), default="en")


def entry_json(e: Entry) -> dict[str, Any]:
    return e.as_toml()


async def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    names = {lang: getattr(args, lang) for lang in ("uk", "en", "ru")}
    notes = {lang: getattr(args, f"note_{lang}") for lang in ("uk", "en", "ru")}
    try:
        entry, replaced = add_entry(
            settings.drafts.glossary, args.kind, names, notes, list(args.alias)
        )
    except GlossaryError as exc:
        raise UsageError(str(exc)) from exc
    verb = "replaced" if replaced else "added"
    print_result(args.json, entry_json(entry), f"{verb}: {entry.line('en')}")
    return 0


async def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        entry = remove_entry(settings.drafts.glossary, args.name)
    except GlossaryError as exc:
        raise UsageError(str(exc)) from exc
    if entry is None:
        raise UsageError(f"no glossary entry named {args.name!r}")
    print_result(args.json, entry_json(entry), f"removed: {entry.line('en')}")
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        glossary = load_glossary(settings.drafts.glossary)
    except GlossaryError as exc:
        raise UsageError(str(exc)) from exc
    lang: str = args.lang
    print_listing(
        list(glossary.entries),
        as_json=args.json,
        to_json=entry_json,
        to_line=lambda e: terminal_text(
            f"{e.kind:12} {e.line(lang)}  ({' / '.join(e.names.values())})"
        ),
        empty="The glossary is empty; add names with `wirewatch glossary add`.",
    )
    return 0
