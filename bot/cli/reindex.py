"""`wirewatch reindex`: rewrite the stored posts' searchable text after an upgrade that changed
how it is normalised (bot/ingest/renorm.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.common import open_store, print_result
from bot.ingest.renorm import Renormalised, mark_current, renormalise
from bot.settings import Settings


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "reindex",
        parents=[parent],
        help="bring stored posts' searchable text up to this version (after an upgrade)",
        description=(
            "Re-normalise the text search reads for exact forms (=word) and prefixes (word*) "
            "of every stored post written by an older version: posts holding symbols such as "
            "№, ™ or ℃ were stored with letters glued to the next word (№12 as no12), and "
            "=12 missed them. Only posts that differ are rewritten; safe to repeat and while "
            "the service runs."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=cmd_reindex)


async def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    def progress(done: Renormalised) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{done.read} posts read, {done.changed} rewritten", end="", file=sys.stderr)

    async with open_store(settings, must_exist=True) as store:
        done = await renormalise(store, progress=progress)
        await mark_current(store)  # `wirewatch run` need not do it again
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    print_result(
        args.json,
        {"read": done.read, "rewritten": done.changed},
        f"{done.read} posts read, {done.changed} rewritten",
    )
    return 0
