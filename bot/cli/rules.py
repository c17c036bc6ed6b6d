"""`wirewatch rules add|remove|list|test`: the bot's `/rule` and `/rules`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import (
    UsageError,
    add_verb,
    open_store,
    print_json,
    print_listing,
    print_result,
    terminal_text,
    verb_group,
)
from bot.desk.desk import RULE_TEST_POSTS, Desk
from bot.desk.inputs import DeskError
from bot.drafting.excerpts import snippet
from bot.settings import Settings
from storage.models import Person, Rule


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    verbs = verb_group(sub, "rules", "what the desk is alerted about")
    add = add_verb(
        verbs,
        "add",
        parent=parent,
        help_text="add a rule (the desk's, or --owner's)",
        func=cmd_add,
    )
    add.add_argument("query", help='rule language: words, "phrases", OR, -word, from:@channel')
    add.add_argument("--owner", metavar="WHO", help="user id or @username: a personal rule")
    rm = add_verb(
        verbs, "remove", parent=parent, help_text="remove a rule by number", func=cmd_remove
    )
    rm.add_argument("rule_id", help="the rule's number, as `rules list` shows it")
    add_verb(verbs, "list", parent=parent, help_text="every active rule", func=cmd_list)
    t = add_verb(
        verbs,
        "test",
        parent=parent,
        help_text=f"which of the last {RULE_TEST_POSTS} posts a rule would match",
        func=cmd_test,
    )
    t.add_argument("query")
    t.add_argument("--limit", type=int, default=RULE_TEST_POSTS, help="newest posts to try")


def rule_json(r: Rule, owners: dict[int, Person]) -> dict[str, Any]:
    owner = owners.get(r.owner_id) if r.owner_id is not None else None
    return {
        "id": r.id,
        "query": r.query,
        "owner": owner.label if owner is not None else ("desk" if r.owner_id is None else None),
        "active": r.active,
    }


async def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings) as store:
        desk = Desk(store, settings)
        owner = None
        if args.owner:
            owner = await desk.find_person(args.owner)
            if owner is None:
                raise DeskError(f"{args.owner} is not on the desk (wirewatch people add)")
        rule, created = await desk.add_rule(args.query, owner=owner, actor=None)
        owners = {p.id: p for p in await desk.people()}
    print_result(
        args.json,
        rule_json(rule, owners) | {"created": created},
        f"rule #{rule.id} {'added' if created else 'already exists'}: {rule.query}",
    )
    return 0


async def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, must_exist=True) as store:
        desk = Desk(store, settings)
        rule = await desk.remove_rule(await desk.parse_rule_id(args.rule_id), by=None, actor=None)
    print_result(
        args.json,
        {"id": rule.id, "query": rule.query, "removed": True},
        f"rule #{rule.id} removed: {rule.query}",
    )
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings, read_only=True) as store:
        desk = Desk(store, settings)
        rules = await desk.rules()
        owners = {p.id: p for p in await store.people.list(active_only=False)}
    print_listing(
        [rule_json(r, owners) for r in rules],
        as_json=args.json,
        to_json=lambda row: row,
        to_line=lambda row: (
            f"#{row['id']:<5} {row['owner'] or '?':16} {terminal_text(row['query'])}"
        ),
        empty="no rules yet: add with `wirewatch rules add '<query>'`",
    )
    return 0


async def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= 100_000:
        raise UsageError("--limit must be between 1 and 100000")
    async with open_store(settings, read_only=True) as store:
        result = await Desk(store, settings).test_rule(args.query, limit=args.limit)
    if args.json:
        print_json(
            {
                "rule": result.rule,
                "tried": result.tried,
                "matched": len(result.hits),
                "posts": [
                    {
                        "permalink": h.post.permalink,
                        "date": h.post.date.isoformat(),
                        "spans": [[s.start, s.end] for s in h.spans],
                    }
                    for h in result.hits
                ],
            }
        )
        return 0
    for h in result.hits:
        local = h.post.date.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
        print(f"{local}  {h.post.permalink}  {terminal_text(snippet(h.text, h.spans, width=120))}")
    print(f"{len(result.hits)} of the last {result.tried} posts match {result.rule}")
    return 0
