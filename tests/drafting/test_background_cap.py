"""The "Earlier:" background is capped to read on a phone and never pushes an alert past one
Telegram message: hostile long posts (no sentence break, markup to escape, emoji, accents),
every language. Texts written for these tests."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.drafting.alert import compose_alert
from bot.drafting.background import (
    BACKGROUND_CHARS,
    LINE_QUOTE_CHARS,
    Background,
    Earlier,
    background_runs,
)
from bot.drafting.draft import DraftOptions
from bot.drafting.html import plain, to_html, utf16_len
from bot.i18n import translator
from bot.matching import Span
from tests.drafting.test_compose import EVENING, TELEGRAM_LIMIT, source, stored

LANGS = ("uk", "ru", "en")
WORD = "енергосистема"
# One sentence with no break in it, as officials' long posts often are: no full stop until
# the end, markup characters that escape to five times their length, an emoji and an accent.
PIECES = (
    "ремонтні бригади працюють",
    "<b>увага</b>",
    "R&D & ко",
    "мережі 110 кВ",
    "⚡️",
    "заявка",
    "й\u0306",  # a letter and its combining breve
    WORD,
    "→",
    "Київ, Житомир — Чернігів",
)


def _hostile(rng: random.Random, length: int, *, spaces: bool = True) -> str:
    """About `length` characters of one run-on sentence (or one word with no space)."""
    out: list[str] = []
    while sum(len(p) + 1 for p in out) < length:
        out.append(rng.choice(PIECES))
    text = (" " if spaces else "").join(out)
    return text[0].upper() + text[1:] + "."


def _spans(text: str) -> tuple[Span, ...]:
    found: list[Span] = []
    at = text.find(WORD)
    while at >= 0:
        found.append(Span(at, at + len(WORD), WORD))
        at = text.find(WORD, at + 1)
    return tuple(found)


def _earlier(rng: random.Random, n: int, length: int, *, spaces: bool = True) -> list[Earlier]:
    out: list[Earlier] = []
    for k in range(n):
        text = _hostile(rng, length, spaces=spaces)
        post = stored(text, id=100 + k, message_id=800 - k, date=EVENING - timedelta(days=k + 1))
        out.append(Earlier(post, source(), _spans(text)))
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_a_long_history_reads_on_a_phone(lang: str) -> None:
    rng = random.Random(7)
    items = _earlier(rng, 10, 3000)
    runs = background_runs(Background(tuple(items), more=4), lang, "Europe/Kyiv", now=EVENING)
    text = plain(runs)
    lines = text.splitlines()
    # "Earlier:", some lines, and what was left out counted in the reader's language.
    assert lines[0] == translator(lang).gettext("Earlier:")
    shown = lines[1:-1]
    assert 1 <= len(shown) < 10
    assert len(text) <= BACKGROUND_CHARS
    left = 10 - len(shown) + 4
    closing = translator(lang).ngettext("…and {n} earlier post", "…and {n} earlier posts", left)
    assert lines[-1] == closing
    for line, item in zip(shown, items, strict=False):
        # Each line recalls a short stretch of its post around the rule's word, marked cut,
        # and keeps its link; before, each 3,000-character post was quoted whole.
        assert line.endswith(item.post.permalink)
        assert len(line) <= LINE_QUOTE_CHARS + 120
        assert "…" in line and WORD in line


@pytest.mark.parametrize("lang", LANGS)
def test_more_than_the_search_counted_says_so(lang: str) -> None:
    rng = random.Random(8)
    items = _earlier(rng, 3, 150)
    runs = background_runs(
        Background(tuple(items), more=5, at_least=True), lang, "Europe/Kyiv", now=EVENING
    )
    last = plain(runs).splitlines()[-1]
    assert last == translator(lang).ngettext(
        "…and more than {n} earlier post", "…and more than {n} earlier posts", 5
    )
    # No room for a single line: the count alone, still in the reader's language.
    runs = background_runs(Background(tuple(items)), lang, "Europe/Kyiv", room=150)
    tr = translator(lang)
    assert plain(runs) == tr.gettext("Earlier:") + " " + tr.ngettext(
        "{n} post on this topic", "{n} posts on this topic", 3
    )
    assert utf16_len(to_html(runs)) <= 150
    assert background_runs(Background(tuple(items)), lang, "Europe/Kyiv", room=10) == []


def test_a_short_quote_is_not_cut_and_the_matched_word_stays_bold() -> None:
    text = f"Сьогодні {WORD} працює стабільно."
    post = stored(text, id=7, message_id=7, date=EVENING - timedelta(days=1))
    runs = background_runs([Earlier(post, source(), _spans(text))], "uk", "Europe/Kyiv")
    assert "«Сьогодні енергосистема працює стабільно»." in plain(runs)
    assert "…" not in plain(runs)
    assert f"<b>{WORD}</b>" in to_html(runs)


@pytest.mark.parametrize("seed", range(24))
def test_the_whole_alert_fits_one_message_whatever_its_history(seed: int) -> None:
    """Hostile stories and histories: every message within Telegram's limit after escaping,
    and the background never adds a message (one, when the story fits one without it)."""
    rng = random.Random(seed)
    lang = LANGS[seed % 3]
    story_text = _hostile(rng, rng.choice((80, 500, 1400, 3000, 16000)), spaces=rng.random() < 0.8)
    story = stored(story_text, id=50, message_id=901)
    options = DraftOptions(lang=lang, tz="Europe/Kyiv", spans=_spans(story_text), now=EVENING)
    history = _earlier(rng, rng.randint(1, 10), rng.choice((200, 900, 4000)), spaces=seed % 4 > 0)
    extra = {
        "rule": WORD + " OR " + "<&>" * rng.randint(0, 60),
        "update": seed % 5 == 0,
        "translate": seed % 2 == 0,
    }
    bare = compose_alert("new", story, source(), options, **extra)
    alert = compose_alert("new", story, source(), options, background=history, **extra)
    for message in alert["messages"]:
        assert utf16_len(message["html"]) <= TELEGRAM_LIMIT
        assert len(message["html"]) <= TELEGRAM_LIMIT
    # One message, however long the story: a quote past QUOTE_CHARS is cut (a story of one
    # 3,000-character sentence took three).
    assert len(alert["messages"]) == len(bare["messages"]) == 1
    assert translator(lang).gettext("Earlier:") in alert["plain"]
