"""`wirewatch rules add|remove|list|test`: the bot's `/rule` and `/rules`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import UsageError, open_store, print_json, print_listing, print_result
from bot.desk.desk import RULE_TEST_POSTS, Desk, DeskError
from bot.drafting.excerpts import snippet
from bot.settings import Settings
from storage.models import Person, Rule


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("rules", help="what the desk is alerted about")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", parents=[parent], help="add a rule (the desk's, or --owner's)")
    add.add_argument("query", help='rule language: words, "phrases", OR, -word, from:@channel')
    add.add_argument("--owner", metavar="WHO", help="user id or @username: a personal rule")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_add)
    rm = verbs.add_parser("remove", parents=[parent], help="remove a rule by number")
    rm.add_argument("rule_id", help="the rule's number, as `rules list` shows it")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)
    ls = verbs.add_parser("list", parents=[parent], help="every active rule")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    t = verbs.add_parser(
        "test",
        parents=[parent],
        help=f"which of the last {RULE_TEST_POSTS} posts a rule would match",
    )
    t.add_argument("query")
    t.add_argument("--limit", type=int, default=RULE_TEST_POSTS, help="newest posts to try")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_test)


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
    async with open_store(settings, must_exist=True) as store:
        desk = Desk(store, settings)
        rules = await desk.rules()
        owners = {p.id: p for p in await store.people.list(active_only=False)}
    print_listing(
        [rule_json(r, owners) for r in rules],
        as_json=args.json,
        to_json=lambda row: row,
        to_line=lambda row: f"#{row['id']:<5} {row['owner'] or '?':16} {row['query']}",
        empty="no rules yet: add with `wirewatch rules add '<query>'`",
    )
    return 0


async def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= 100_000:
        raise UsageError("--limit must be between 1 and 100000")
    async with open_store(settings, must_exist=True) as store:
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
        print(f"{local}  {h.post.permalink}  {snippet(h.post.text, h.spans, width=120)}")
    print(f"{len(result.hits)} of the last {result.tried} posts match {result.rule}")
    return 0
