"""A post with no sentence break, as it reaches the journalist's phone: the real pipeline,
drafter and notifier, the fake Bot API over HTTP (which parses the HTML and counts what
Telegram counts), SQLite and PostgreSQL. The draft's quote stays a quote: cut at words around
the rule's word and marked "…", the whole post one tap away. Texts written for these tests."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.notifier import Notifier
from bot.drafting.quotes import QUOTE_CHARS
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store
from tests.delivery.test_notifier import settings
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]

NOW = datetime(2026, 2, 11, 7, 30, tzinfo=UTC)
# Clauses of a run-on report: commas, dashes, markup to escape, emoji, figures; never a full
# stop, so the splitter finds one sentence however long the post.
CLAUSES = (
    "бригади 🚒 працюють на вулиці Садовій та в селищі Новому",
    "<b>увага</b> & «жителів» просять не виходити з укриттів",
    "на місці — 14 одиниць техніки і 52 рятувальники",
    "енергетики відновлюють лінії 10 кВ 💡 до ранку",
    "у лікарні &amp; амбулаторії підвезли воду та генератори",
)
WORD = "евакуація"  # the rule's word, once, deep inside


def run_on(chars: int) -> str:
    parts: list[str] = []
    k = 0
    while sum(len(p) + 2 for p in parts) < chars:
        parts.append(CLAUSES[k % len(CLAUSES)] + f" ({k + 1})")
        k += 1
    parts.insert(len(parts) * 3 // 5, f"триває {WORD} мешканців прибережних вулиць")
    return "Оперативна інформація: " + ", ".join(parts)


def quote_of(first_line: str) -> str:
    """The words inside the draft's «…» on its first line."""
    m = re.search(r": «(.*)»\.?$", first_line)
    assert m is not None, first_line
    return m.group(1)


def assert_cut_at_words(quote: str, text: str) -> None:
    """`quote` is the post's own words, cut at spaces, each cut marked "…" inside the marks."""
    body = quote.removeprefix("…").removesuffix("…")
    # House style, as ever: emoji dropped, quotation marks inside the quote the inner kind.
    flat = text.replace("🚒 ", "").replace("💡 ", "").replace("«", "„").replace("»", "“")
    at = flat.find(body)
    assert at > 0, "the quote is not the post's words"
    end = at + len(body)
    assert quote.startswith("…") and flat[at - 1] == " ", "cut inside a word"
    if end < len(flat):
        assert quote.endswith("…") and flat[end] in " ,", "cut inside a word"


@pytest.mark.parametrize("chars", [4000, 16000])
async def test_a_post_without_sentence_breaks_is_quoted_in_part(
    db_target: str, fakebot: FakeBotAPI, chars: int
) -> None:
    text = run_on(chars)
    assert len(text) >= chars and not re.search(r"[.!?…]", text)
    store = await Store.open(db_target)
    try:
        await store.sources.upsert(
            "dsns_demo", attribution={"person_uk": "Олег Савчук", "role_uk": "речник ДСНС"}
        )
        await store.rules.add(WORD, rule_to_json(parse_rule(WORD)))
        person = await store.people.add(role="journalist", user_id=7401, lang="uk")
        pipe = Pipeline(store)
        await pipe.handle(Post("dsns_demo", 5, NOW, text))
        notifier = Notifier(store, fakebot.bot(), settings(fakebot))
        await notifier.drain_once()

        # One message (the whole post was quoted: four or five messages of one quotation).
        (message,) = fakebot.sent_messages(7401)
        shown = message.text or ""
        assert len(shown.encode("utf-16-le")) // 2 <= 4096
        first = shown.splitlines()[0]
        assert first.startswith("Речник ДСНС Олег Савчук")
        quote = quote_of(first)
        assert WORD in quote and len(quote) <= QUOTE_CHARS + 2
        assert_cut_at_words(quote, text)
        # The markup in the post arrived as text, the link to all of it is there.
        assert "<b>увага</b> &" in quote or "&amp;" in quote
        assert "https://t.me/dsns_demo/5" in shown
        (alert,) = await store.alerts.for_person(person.id)
        assert alert.payload["plain"].splitlines()[0] == first

        # An edit far from the rule's word: the reply quotes where it changed, as short.
        at = text.rindex("(", 0, len(text) // 4)
        edited = text[:at] + "(уточнено)" + text[text.index(")", at) + 1 :]
        await pipe.handle(
            replace(Post("dsns_demo", 5, NOW, edited), edit_date=NOW + timedelta(minutes=20))
        )
        await notifier.drain_once()
        _, update = fakebot.sent_messages(7401)
        shown = update.text or ""
        assert len(shown.encode("utf-16-le")) // 2 <= 4096
        line = next(k for k in shown.splitlines() if k.startswith("Речник ДСНС"))
        quote = quote_of(line)
        assert "уточнено" in quote and WORD not in quote and len(quote) <= QUOTE_CHARS + 2
        assert_cut_at_words(quote, edited)
    finally:
        await store.close()
