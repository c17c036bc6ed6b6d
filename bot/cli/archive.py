"""`wirewatch import`, `wirewatch search`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, open_store, print_json, terminal_text
from bot.delivery.translation import listeners_translate
from bot.desk.glossary_file import GlossaryWatch
from bot.desk.nothing_found import desk_names, nothing_found_hints, typed_hints
from bot.desk.search import parse_date, search_posts, spelling_hints
from bot.drafting.excerpts import snippet
from bot.ingest.analyst import AnalysisWorkerError
from bot.ingest.capture import build_capture
from bot.ingest.pipeline import IngestResult, Pipeline
from bot.settings import Settings
from sources.export import load_export
from sources.jsonl import read_feed
from storage.models import Alert
from storage.records import Event, Post, normalize_username
from storage.store import Store

PROGRESS_FROM = 2000  # posts; smaller imports finish before a bar is worth drawing


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "import",
        parents=[parent],
        help="import a Telegram Desktop export (result.json) or a JSONL feed",
        description="Import posts. Re-importing the same file adds nothing and alerts nobody.",
    )
    p.add_argument("path", help="result.json from Telegram Desktop, or a .jsonl feed")
    p.add_argument("--source", metavar="@USERNAME", help="the channel a single-chat export is")
    p.add_argument("--alert", action="store_true", help="alert people on matching posts")
    p.add_argument(
        "--no-media",
        action="store_true",
        help="do not copy the export's photos and files into the media folder (nor read them)",
    )
    p.set_defaults(func=cmd_import)

    s = sub.add_parser("search", parents=[parent], help="search the archive, newest first")
    s.add_argument("query", help='rule grammar: words, "phrases", OR, -word, from:@channel')
    s.add_argument("--source", metavar="@USERNAME")
    s.add_argument("--since", metavar="DATE", help="YYYY-MM-DD or ISO datetime")
    s.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (inclusive) or ISO datetime")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_search)


# `wirewatch search`'s own options: the ones that take a value, and the flags.
_SEARCH_VALUED = ("--db", "--source", "--since", "--until", "--limit")
_SEARCH_FLAGS = ("--json", "--help", "-h", "-v", "--verbose")
_GLOBAL_FLAGS = ("-v", "--verbose", "--db")


def search_argv(argv: list[str]) -> list[str]:
    """`wirewatch search -from:@a since:yesterday` as meant: a query that leaves out starts with
    "-", which argparse takes for an option it does not know ("the following arguments are
    required: query"); and `wirewatch search обмін полоненими` unquoted is one query of two
    words ("unrecognized arguments"). The search's own options are kept as they are, the rest
    joined into the query, after "--"."""
    at = 0  # past wirewatch's own options, to the command
    while at < len(argv) and (argv[at] in _GLOBAL_FLAGS or argv[at].startswith("--db=")):
        at += 2 if argv[at] == "--db" else 1
    if argv[at : at + 1] != ["search"] or "--" in argv:
        return argv
    at += 1
    options: list[str] = []
    query: list[str] = []
    rest = iter(argv[at:])
    for arg in rest:
        name = arg.split("=", 1)[0]
        valued = [o for o in _SEARCH_VALUED if name.startswith("--") and o.startswith(name)]
        if len(name) > 2 and valued:  # argparse takes --lim for --limit; so do we
            options.append(arg)
            value = next(rest, None) if "=" not in arg else None
            if value is not None:
                options.append(value)
        elif arg in _SEARCH_FLAGS or arg.startswith("--"):
            options.append(arg)  # an unknown --option stays one: argparse names it
        else:
            query.append(arg)
    if len(query) < 2 and not any(q.startswith("-") for q in query):
        return argv
    return [*argv[:at], *options, "--", " ".join(query)]


_HTML = (".html", ".htm")


def _input_file(path: Path) -> Path:
    """The file to read: a feed, `result.json`, or the export folder holding it (Telegram
    Desktop writes `ChatExport_…/result.json` with the photos beside it). Checked before the
    database is opened: a mistyped path must not leave an empty archive behind."""
    html = (path / "messages.html").is_file() if path.is_dir() else path.suffix in _HTML
    if html and not (path.is_dir() and (path / "result.json").is_file()):
        # Telegram Desktop's default format: the likeliest first export.
        raise UsageError(
            f"{path} is Telegram Desktop's HTML export: export the chat again with "
            "Format: JSON (Export chat history → Format), then import its result.json"
        )
    if path.is_dir():
        inner = path / "result.json"
        if not inner.is_file():
            raise UsageError(
                f"{path} is a folder without result.json: give a Telegram Desktop export "
                "(its result.json or the folder holding it) or a .jsonl feed"
            )
        return inner
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    return path


def _load_events(path: Path, source: str | None, known: dict[int, str]) -> list[Event]:
    """Read and validate the whole file before anything is written."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        if source:
            raise UsageError("--source applies to Telegram Desktop exports, not JSONL feeds")
        return list(read_feed(path))
    result = load_export(path, source=source, known=known)
    for chat in result.skipped:
        name = terminal_text(chat.name)
        print(f'skipped the chat "{name}" (id {chat.id}): {chat.reason}.', file=sys.stderr)
    # The importer groups posts by channel; alerts should reach people in time order.
    return sorted(
        result.posts,
        key=lambda e: (e.date, e.channel, e.message_id if isinstance(e, Post) else 0),
    )


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    source = normalize_username(args.source) if args.source else None
    path = _input_file(Path(args.path))
    async with open_store(settings) as store:
        known = {s.peer_id: s.username for s in await store.sources.list() if s.peer_id}
        events = _load_events(path, source, known)
        capture = build_capture(store, settings.capture) if not args.no_media else None
        # Alerts queued before the import (a running service's, or a stopped one's) are
        # drafted by the service's drafter, not by this command.
        before = await store.alerts.last_id()
        pipeline = Pipeline(
            store,
            alert=args.alert,
            capture=capture,
            style=settings.drafts.house_style(),
            thread_window=settings.drafts.thread_window,
            background=settings.drafts.background,
            glossary=GlossaryWatch(settings.drafts.glossary),
            # As the service's drafts do: a quote in another language than the reader's asks
            # the service's translation worker for a translation.
            translate=listeners_translate(settings.translation),
            # Drafted below, the import's own alerts only.
            defer_drafts=True,
        )
        bar = None
        if len(events) >= PROGRESS_FROM:
            from tqdm import tqdm

            bar = tqdm(total=len(events), unit="post", file=sys.stderr, disable=None)
        try:
            result = await pipeline.handle_batch(
                events, progress=bar.update if bar is not None else None
            )
        except AnalysisWorkerError as exc:
            print(
                f"wirewatch: {exc}; the posts stored before it are kept: run the same import"
                " again to finish (what is stored is skipped)",
                file=sys.stderr,
            )
            if capture is not None:
                await capture.close()
            return 1
        finally:
            if bar is not None:
                bar.close()
        if capture is not None:
            try:
                if capture.pending:
                    print(f"keeping and reading {capture.pending} media files…", file=sys.stderr)
                await capture.join()
            finally:
                await capture.close()
        if args.alert:
            await pipeline.drafter.run(after_id=before, only=await _imported(store, events))
    print(_summary(len(events), result))
    if capture is not None and (capture.kept or capture.skipped):
        files, size = await _usage(settings)
        print(
            f"media: {capture.kept} files kept, {capture.read} images read, "
            f"{capture.skipped} skipped; the folder holds {files} files, "
            f"{size / 1048576:.1f} of {settings.capture.media_cap_mb} MB"
        )
    return 0


async def _imported(store: Store, events: list[Event]) -> Callable[[Alert], Awaitable[bool]]:
    """Whether an alert is about one of the imported posts (stored, by source and message)."""
    sources: dict[str, int | None] = {}
    keys: set[tuple[int, int]] = set()
    for event in events:
        if not isinstance(event, Post):
            continue
        if event.channel not in sources:
            # Found as the pipeline finds it: by name, or by peer id after a rename.
            src = await store.sources.by_username(event.channel)
            if src is None and event.channel_id is not None:
                src = await store.sources.by_peer(event.channel_id)
            sources[event.channel] = src.id if src is not None else None
        source_id = sources[event.channel]
        if source_id is not None:
            keys.add((source_id, event.message_id))

    async def imported(alert: Alert) -> bool:
        post = await store.posts.get_by_id(alert.post_id) if alert.post_id is not None else None
        return post is not None and (post.source_id, post.message_id) in keys

    return imported


async def _usage(settings: Settings) -> tuple[int, int]:
    async with open_store(settings, read_only=True) as store:
        return await store.media.usage()


def _summary(read: int, r: IngestResult) -> str:
    return (
        f"read {read} events: {r.stored} new posts, {r.edited} edits, {r.deleted} deletions, "
        f"{r.duplicates} unchanged; {r.alerts} alerts queued"
    )


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if not args.query.strip():
        raise UsageError(
            'the search query is empty: give words, a "phrase" or filters such as from:@channel'
        )
    if args.limit < 1 or args.limit > 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    zone = settings.zone
    since = parse_date(args.since, zone) if args.since else None
    until = parse_date(args.until, zone, end=True) if args.until else None
    source = normalize_username(args.source) if args.source else None
    async with open_store(settings, read_only=True) as store:
        page = await search_posts(
            store,
            args.query,
            zone=zone,
            source=source,
            since=since,
            until=until,
            limit=args.limit,
        )
        names = await desk_names(store, GlossaryWatch(settings.drafts.glossary).current())
        hints = (
            await nothing_found_hints(
                store, args.query, zone, source=source, since=since, until=until
            )
            if not page.hits
            else []
        )
    if args.json:
        print_json(
            [
                {
                    "channel": h.post.channel,
                    "message_id": h.post.message_id,
                    "permalink": h.post.permalink,
                    "date": h.post.date.isoformat(),
                    "text": h.post.text,
                    "in_image": h.in_image,
                    "ocr_text": h.post.ocr_text,
                    "spans": [[s.start, s.end] for s in h.spans],
                    "version": h.post.version,
                    "deleted": h.post.deleted_at is not None,
                }
                for h in page.hits
            ]
        )
        return 0
    spellings = [
        *typed_hints(args.query, zone),
        *spelling_hints(args.query, names),
    ]
    if not page.hits:
        print("no posts found")
        for hint in [*hints, *spellings]:
            print(f"hint: {hint}")
        return 0
    for h in page.hits:
        local = h.post.date.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        flags = (" (edited)" if h.post.version > 1 else "") + (
            " (deleted)" if h.post.deleted_at else ""
        )
        print(f"{local}  @{h.post.channel}  {h.post.permalink}{flags}")
        if h.in_image:
            print(f"    the image reads: {terminal_text(snippet(h.text, h.spans))}")
        else:
            print(f"    {terminal_text(snippet(h.post.text, h.spans))}")
    if page.cursor is not None:
        print(f"(more results: raise --limit above {args.limit} or narrow with --since/--until)")
    for hint in spellings:
        print(f"hint: {hint}")
    return 0
