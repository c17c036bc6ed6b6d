"""Draft quality, measured: the demo feed plus 20 more posts written for this benchmark.

    .venv/bin/python bench/drafts.py            # the table for README
    .venv/bin/python bench/drafts.py --show     # every draft, with what the checker found

For every post with text (or a photo) and every draft language (uk, en, ru) it builds the draft
the way an alert does: the quote chosen by the first demo rule that matches the post (no rule:
by substance alone), the demo sources' attribution, Kyiv time. It reports

- quotes that are the newsworthy sentence, by labels written by hand (bench/data/*labels*,
  the "newsworthy" field of bench/data/draft_posts.jsonl): the quote must contain one of the
  sentences labelled for that post; posts with nothing newsworthy (a greeting, the weather) are
  left out of this count;
- typography errors found by `check_draft` below (0 expected);
- drafts that need no edit besides translation: no typography error and, where a label exists,
  the newsworthy quote.

The anchor, measured in the same run, is the quote an alert carried before this change for a
post with no spans: the first sentence of at least five words.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for bench.common

from bench.common import table_row
from bot.desk.sources_file import parse_sources
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.sentences import ends_with_abbreviation, is_emoji_part, split_sentences
from bot.matching import Matcher, analyze, parse_rule
from sources.jsonl import parse_line

HERE = Path(__file__).parent / "data"
LANGS = ("uk", "en", "ru")
NOW = datetime(2025, 12, 31, tzinfo=UTC)

# -- the typography checker ------------------------------------------------------------------

_TAIL = re.compile(r"[,»]\s*[—–]\s*(наголоси|зазначи|заяви|сказа|подчеркну|отмети)\w*", re.I)
# AP: "6:08 p.m.", "6 p.m." on the hour, "noon", "midnight"; never "6:00 p.m." or "12 p.m.".
_EN_CLOCK = re.compile(
    r"^(?:(?:[1-9]|1[0-2]):(?!00)\d{2} [ap]\.m\.|(?:[1-9]|1[01]) [ap]\.m\.|noon|midnight)"
)
_UK_CLOCK = re.compile(r"^\d{2}:\d{2}")


def check_draft(plain: str, lang: str) -> list[str]:
    """What a sub-editor would have to fix in a draft's first two lines (lead and quote; time
    and link). Empty when nothing."""
    errors: list[str] = []
    first, _, rest = plain.partition("\n")
    meta = rest.split("\n", 1)[0]
    if not first[:1].isupper():
        errors.append("lead does not start with a capital")
    shown = any(w in first.lower() for w in ("photo", "video", "фото", "відео", "видео"))
    if first.rstrip().endswith("Telegram.") and ":" not in first and not shown:
        errors.append("lead ends with nothing said")
    outer = ("“", "”") if lang == "en" else ("«", "»")
    inner = ("‘", "’") if lang == "en" else ("„", "“")
    if ": " + outer[0] in first:
        quote = first[first.index(": " + outer[0]) + 2 :]
        body_end = quote.rfind(outer[1])
        if body_end < 0:
            errors.append("quote not closed")
            body = quote[1:]
        else:
            body = quote[1:body_end]
            after = quote[body_end + 1 :]
            if lang == "en" and after:
                errors.append(f"text after the closing quote: {after!r}")
            if lang != "en" and after not in ("", "."):
                errors.append(f"text after the closing guillemet: {after!r}")
            # An abbreviation keeps its stop ("…2025 р.»."); a sentence's goes after the mark.
            if lang != "en" and body.endswith(".") and not ends_with_abbreviation(body):
                errors.append("full stop inside the closing guillemet")
            if lang != "en" and not after and not body.endswith(("!", "?", "…")):
                errors.append("no full stop after the closing guillemet")
        if outer[0] in body or outer[1] in body:
            errors.append("same-kind quotation marks nested")
        if lang == "en" and ("«" in body or "»" in body):
            errors.append("guillemets inside an English quote")
        if '"' in body:
            errors.append("straight quotes inside the quote")
        if body.count(inner[0]) != body.count(inner[1]) and inner[0] != inner[1]:
            errors.append("inner quotation marks unbalanced")
        if any(is_emoji_part(ch) for ch in body):
            errors.append("emoji inside the quote")
        if _TAIL.search(body):
            errors.append("the speaker's '— said X' tail inside the quote")
        if "  " in body or " ." in body or " ," in body:
            errors.append("spacing")
    clock = _EN_CLOCK if lang == "en" else _UK_CLOCK
    if not clock.match(meta):
        errors.append(f"time not in {lang} style: {meta[:20]!r}")
    if lang == "en" and re.search(r"\d{1,2}:\d{2}(?! [ap]\.m\.)", meta.split(" · ")[0]):
        errors.append("24-hour time in an English draft")
    if lang != "en" and re.search(r"\b20\d\d\b(?! (року|года))", meta.split(" · ")[0]):
        errors.append("a year without року/года")
    return errors


# -- the data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Src:
    username: str
    title: str | None
    gender: str | None
    person: dict[str, str | None]
    role: dict[str, str | None]
    short_role: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Item:
    key: str
    post: Any  # storage.records.Post
    labels: list[str] | None  # acceptable newsworthy sentences; None: nothing newsworthy


def _demo_text(name: str) -> str:
    return resources.files("bot.data").joinpath(name).read_text(encoding="utf-8")


def load_items() -> list[Item]:
    final: dict[str, Any] = {}
    for line in _demo_text("demo_feed.jsonl").splitlines():
        event = parse_line(line)
        if hasattr(event, "text"):
            final[f"{event.channel}/{event.message_id}"] = event
        else:
            for mid in event.message_ids:
                final.pop(f"{event.channel}/{mid}", None)  # deleted: no draft
    labels = json.loads((HERE / "demo_labels.json").read_text(encoding="utf-8"))
    items = [Item(k, p, labels.get(k)) for k, p in final.items()]
    for line in (HERE / "draft_posts.jsonl").read_text("utf-8").splitlines():
        raw = json.loads(line)
        label = raw.pop("newsworthy", None)
        post = parse_line(json.dumps(raw, ensure_ascii=False))
        items.append(Item(f"{post.channel}/{post.message_id}", post, [label] if label else None))
    return items


def sources() -> dict[str, Src]:
    out: dict[str, Src] = {}
    for spec in parse_sources(_demo_text("demo_sources.toml")):
        out[spec.username] = Src(
            spec.username,
            None,
            spec.gender,
            dict(spec.person),
            dict(spec.role),
            dict(spec.short_role),
        )
    return out


def rules() -> tuple[Matcher, dict[int, str]]:
    matcher = Matcher()
    queries: dict[int, str] = {}
    lines = [
        ln.strip()
        for ln in _demo_text("demo_rules.txt").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for n, query in enumerate(lines):
        matcher.add(n, parse_rule(query))
        queries[n] = query
    return matcher, queries


def anchor_quote(text: str) -> str:
    """The old opening quote: the first sentence of at least five words."""
    sentences = [s.text(text) for s in split_sentences(text)]
    if not sentences:
        return ""
    return next((s for s in sentences if len(re.findall(r"[^\W_]+", s)) >= 5), sentences[0])


def measure(show: bool = False) -> dict[str, dict[str, int]]:
    items = load_items()
    srcs = sources()
    matcher, _ = rules()
    table: dict[str, dict[str, int]] = {}
    for lang in LANGS:
        row = dict(drafts=0, labelled=0, newsworthy=0, anchor=0, errors=0, clean=0)
        for item in items:
            post = item.post
            if not post.text.strip() and not post.media:
                continue
            found = matcher.match(analyze(post.text), post.channel)
            spans = min(found, key=lambda m: m.rule_id).spans if found else ()
            draft = build_draft(
                post,
                srcs.get(post.channel),
                DraftOptions(lang=lang, tz="Europe/Kyiv", spans=spans, now=NOW),
            )
            plain = draft.plain()
            errors = check_draft(plain, lang)
            good = True
            if item.labels:
                row["labelled"] += 1
                quote = draft.quote or ""
                good = any(label in quote for label in item.labels)
                row["newsworthy"] += good
                row["anchor"] += any(label in anchor_quote(post.text) for label in item.labels)
            row["drafts"] += 1
            row["errors"] += len(errors)
            row["clean"] += good and not errors
            if show and (errors or not good):
                print(f"--- {lang} {item.key} {'' if good else 'NOT NEWSWORTHY'} {errors}")
                print(plain)
        table[lang] = row
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print drafts that miss")
    parser.add_argument("--quick", action="store_true", help="the same (it takes seconds)")
    args = parser.parse_args(argv)
    table = measure(show=args.show)
    print(
        "| draft language | drafts | no edit besides translation | newsworthy quote (labels) "
        "| anchor: opening sentence | typography errors |"
    )
    print("|---|---|---|---|---|---|")
    for lang, r in table.items():
        ratio = r["newsworthy"] / r["anchor"] if r["anchor"] else float("inf")
        print(
            f"| {lang} | {r['drafts']} | {r['clean']}/{r['drafts']} "
            f"| {r['newsworthy']}/{r['labelled']} | {r['anchor']}/{r['labelled']} "
            f"(ratio {ratio:.2f}) | {r['errors']} |"
        )
    for lang, r in table.items():
        ratio = r["newsworthy"] / r["anchor"] if r["anchor"] else float("inf")
        table_row(
            f"drafts ({lang}): newsworthy quote, typography errors {r['errors']}",
            f"{r['newsworthy']}/{r['labelled']}",
            f"{r['anchor']}/{r['labelled']} (opening sentence)",
            f"{ratio:.2f}",
            "0 typography errors",
            r["errors"] == 0,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
