"""`wirewatch match RULE`: try a rule on a text, or on the newest stored posts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, open_store, print_json, terminal_text
from bot.matching import Analysis, RuleMatch, RuleSyntaxError, match_rule, parse_rule, to_text
from bot.settings import Settings
from storage.postgres import is_postgres_url

_CONTEXT = 40  # characters shown around a highlighted word


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "match",
        parents=[parent],
        help="test a rule on a text or on the stored posts",
        description=(
            "Test a rule. With --text, say whether that text matches and which words where; "
            "otherwise try the newest stored posts of the database (--db or the settings). "
            "A rule that does not parse exits with code 2 and says where and why."
        ),
    )
    p.add_argument("rule", help="the rule, e.g. 'обмін полоненими' or 'Умєров -Туреччина'")
    p.add_argument("--text", help="the text to test ('-' reads standard input)")
    p.add_argument("--channel", default="", help="the channel the text is from (for from:@ rules)")
    p.add_argument(
        "--limit", type=int, default=200, help="stored posts to try, newest first (default 200)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_match)


def _spans(text: str, m: RuleMatch | None) -> list[dict[str, Any]]:
    if m is None:
        return []
    return [
        {"start": s.start, "end": s.end, "text": text[s.start : s.end], "term": s.term}
        for s in m.spans
    ]


def _snippet(text: str, m: RuleMatch) -> str:
    """The text around the first matched word, matched words in [brackets]."""
    if not m.spans:
        return " ".join(text[: 2 * _CONTEXT].split())
    lo = max(0, m.spans[0].start - _CONTEXT)
    hi = min(len(text), m.spans[0].end + _CONTEXT)
    out: list[str] = []
    pos = lo
    for s in m.spans:
        if s.start < pos or s.end > hi:
            continue
        out.append(text[pos : s.start])
        out.append("[" + text[s.start : s.end] + "]")
        pos = s.end
    out.append(text[pos:hi])
    body = " ".join("".join(out).split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


async def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    try:
        node = parse_rule(args.rule)
    except RuleSyntaxError as exc:
        raise UsageError(f"bad rule: {exc}") from exc
    channel = args.channel.lower().lstrip("@")
    if args.text is not None:
        text = sys.stdin.read() if args.text == "-" else args.text
        m = match_rule(node, Analysis(text), channel)
        if args.json:
            print_json({"rule": to_text(node), "matched": m is not None, "spans": _spans(text, m)})
        elif m is None:
            print("no match")
        else:
            print("match")
            for s in m.spans:
                print(f"  {s.start}-{s.end}  {text[s.start : s.end]!r}  ({s.term})")
        return 0
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if not is_postgres_url(settings.db) and not await asyncio.to_thread(Path(settings.db).exists):
        raise UsageError(f"no database at {settings.db} (give --text, or --db PATH)")
    async with open_store(settings, read_only=True) as store:
        posts = await store.posts.recent(limit=args.limit)
    hits = []
    for post in posts:
        m = match_rule(node, Analysis(post.text), post.channel)
        if m is not None:
            hits.append((post, m, False))
        elif post.ocr_text and (m := match_rule(node, Analysis(post.ocr_text), post.channel)):
            # The words are in the post's picture (OCR), not in what the official wrote.
            hits.append((post, m, True))
    if args.json:
        print_json(
            {
                "rule": to_text(node),
                "tried": len(posts),
                "matched": len(hits),
                "posts": [
                    {
                        "post_id": post.id,
                        "permalink": post.permalink,
                        "date": post.date.isoformat(),
                        "in_image": in_image,
                        "spans": _spans(post.ocr_text if in_image else post.text, m),
                    }
                    for post, m, in_image in hits
                ],
            }
        )
        return 0
    for post, m, in_image in hits:
        # The newsroom's clock, as `wirewatch search` and the bot print it.
        when = post.date.astimezone(settings.zone)
        if in_image:
            where = f"in the image: {_snippet(post.ocr_text, m)}"
        else:
            where = _snippet(post.text, m)
        print(f"{post.permalink}  {when:%Y-%m-%d %H:%M}  {terminal_text(where)}")
    print(f"{len(hits)} of {len(posts)} newest posts match {to_text(node)}")
    return 0
