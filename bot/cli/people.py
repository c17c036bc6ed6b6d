"""`wirewatch people add|remove|list`: the bot's `/people`, for provisioning and scripts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from bot.cli.common import (
    add_verb,
    columns,
    open_store,
    print_listing,
    print_result,
    terminal_text,
    verb_group,
)
from bot.desk.desk import Desk
from bot.settings import Settings
from storage.models import ROLES, Person


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    verbs = verb_group(sub, "people", "who may use the bot, and their role")
    add = add_verb(
        verbs, "add", parent=parent, help_text="add a person or change their role", func=cmd_add
    )
    add.add_argument("who", help="Telegram user id or @username")
    add.add_argument("role", choices=ROLES)
    rm = add_verb(
        verbs, "remove", parent=parent, help_text="take a person off the desk", func=cmd_remove
    )
    rm.add_argument("who", help="Telegram user id or @username")
    add_verb(verbs, "list", parent=parent, help_text="everyone on the desk", func=cmd_list)


def person_json(p: Person) -> dict[str, Any]:
    return {
        "id": p.id,
        "user_id": p.user_id,
        "username": p.username,
        "name": p.display,
        "role": p.role,
        "lang": p.lang,
        "tz": p.tz,
        "quiet": f"{p.quiet_from}-{p.quiet_to}" if p.quiet_from and p.quiet_to else None,
        "digest_at": p.digest_at,
        "paused": p.paused,
        "reachable": p.reachable,
    }


def person_lines(people: Sequence[Person]) -> list[str]:
    """One aligned line per person, as /people names them: role, user id, @username, the
    Telegram name the bot kept when they wrote to it (escaped for the terminal), language and
    zone, then what holds their alerts."""
    rows = []
    for p in people:
        flags = [
            "not written yet" if p.user_id is None else "",
            "paused" if p.paused else "",
            "alerts on hold (has not opened the bot or blocked it)"
            if p.user_id is not None and not p.reachable
            else "",
        ]
        rows.append(
            [
                p.role,
                str(p.user_id) if p.user_id is not None else "-",
                f"@{p.username}" if p.username else "-",
                terminal_text(p.display) if p.display else "-",
                p.lang,
                p.tz,
                "  ".join(f for f in flags if f),
            ]
        )
    return [line.rstrip() for line in columns(rows)]


async def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings) as store:
        person = await Desk(store, settings).add_person(args.who, args.role, actor=None)
    print_result(
        args.json, person_json(person), f"{terminal_text(person.label)} is now {person.role}"
    )
    return 0


async def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, must_exist=True) as store:
        person = await Desk(store, settings).remove_person(args.who, actor=None)
    print_result(
        args.json,
        person_json(person) | {"removed": True},
        f"{terminal_text(person.label)} removed",
    )
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, read_only=True) as store:
        people = await Desk(store, settings).people()
    lines = dict(zip((p.id for p in people), person_lines(people), strict=True))
    print_listing(
        people,
        as_json=args.json,
        to_json=person_json,
        to_line=lambda p: lines[p.id],
        empty="nobody yet: add with `wirewatch people add <user id or @username> <role>`",
    )
    return 0
