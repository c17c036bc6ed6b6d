"""`wirewatch demo`: the whole pipeline on the bundled sample feed, no Telegram needed."""

from __future__ import annotations

import argparse
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, open_store, terminal_text
from bot.desk.glossary_file import GlossaryWatch
from bot.desk.search import search_posts
from bot.desk.sources_file import apply_sources, parse_sources
from bot.drafting.excerpts import snippet
from bot.ingest.pipeline import IngestResult, Pipeline
from bot.matching import RuleSyntaxError, parse_rule, rule_to_json
from bot.settings import Settings
from sources.jsonl import read_feed
from storage.store import Store

DEMO_QUERY = "обмін полоненими"
DEMO_USER_ID = 100_000_001  # the console reader's stand-in id; never sent anywhere


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[parent],
        help="run the pipeline on the bundled sample feed and print the alerts",
        description="Ingests the bundled posts of five official channels, prints every alert "
        "with its draft, then runs one search. Uses a temporary database unless --db is given.",
    )
    p.add_argument("--lang", choices=["uk", "en", "ru"], default="uk", help="draft language")
    p.add_argument("--query", default=DEMO_QUERY, help="the search run at the end")
    p.set_defaults(func=cmd_demo)


def demo_text(name: str) -> str:
    return resources.files("bot.data").joinpath(name).read_text(encoding="utf-8")


async def load_demo_desk(store: Store, *, lang: str, tz: str) -> int:
    """Bundled sources and rules, and one console reader; returns the number of rules."""
    await apply_sources(store, parse_sources(demo_text("demo_sources.toml"), name="demo sources"))
    count = 0
    for lineno, line in enumerate(demo_text("demo_rules.txt").splitlines(), 1):
        query = line.strip()
        if not query or query.startswith("#"):
            continue
        try:
            node = parse_rule(query)
        except RuleSyntaxError as exc:
            raise UsageError(f"demo_rules.txt line {lineno}: {exc}") from exc
        if await store.rules.find(query, None) is None:
            await store.rules.add(query, rule_to_json(node))
        count += 1
    await store.people.add(
        role="journalist", user_id=DEMO_USER_ID, display="console", lang=lang, tz=tz
    )
    return count


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.db:
        return await _run(args, settings)
    with tempfile.TemporaryDirectory(prefix="wirewatch-demo-") as tmp:
        settings = settings.model_copy(update={"db": Path(tmp) / "demo.db"})
        return await _run(args, settings)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings) as store:
        rules = await load_demo_desk(store, lang=args.lang, tz=settings.tz)
        feed = resources.files("bot.data").joinpath("demo_feed.jsonl")
        with resources.as_file(feed) as path:
            events = list(read_feed(path))
        pipeline = Pipeline(
            store,
            style=settings.drafts.house_style(),
            thread_window=settings.drafts.thread_window,
            background=settings.drafts.background,
            glossary=GlossaryWatch(settings.drafts.glossary),
        )
        total = IngestResult()
        for event in events:  # one by one, as a live source delivers them
            total.add(await pipeline.handle(event))
        person = await store.people.by_user_id(DEMO_USER_ID)
        assert person is not None
        alerts = await store.alerts.for_person(person.id, limit=10_000)
        print(
            f"wirewatch demo: {len(events)} events from the sample feed, {rules} desk rules; "
            f"{total.stored} posts stored, {total.edited} edits, {total.deleted} deletions, "
            f"{len(alerts)} alerts\n"
        )
        for n, alert in enumerate(alerts, 1):
            post = await store.posts.get_by_id(alert.post_id) if alert.post_id else None
            where = f"@{post.channel}/{post.message_id}" if post else ""
            print(f"━━ alert {n}/{len(alerts)} · {alert.kind} · {where} ━━")
            print(terminal_text(alert.payload.get("plain", "").rstrip(), lines=True))
            print()
        page = await search_posts(store, args.query, zone=settings.zone, limit=5)
        print(f"━━ search: {args.query} ━━ ({len(page.hits)} shown, newest first)")
        for hit in page.hits:
            local = hit.post.date.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
            print(f"{local}  {hit.post.permalink}")
            print(f"    {terminal_text(snippet(hit.text, hit.spans, width=160))}")
    return 0
