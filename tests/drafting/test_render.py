"""Telegram HTML rendering: escaping, highlighting, splitting under 4096, buttons."""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.drafting.html import (
    Button,
    Run,
    button,
    highlight,
    join_runs,
    plain,
    render_chunks,
    split_runs,
    to_html,
    utf16_len,
)

# Telegram's own limit for a message (sendMessage: 1-4096 characters), written out here
# rather than taken from the code under test, so that a wrong constant there fails.
TELEGRAM_LIMIT = 4096

ALLOWED = {"b", "i", "u", "s", "code", "a"}


@dataclass(frozen=True)
class Mark:
    start: int
    end: int


class _Checker(HTMLParser):
    """Parses Telegram-style HTML strictly: known tags only, balanced, text collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tagged: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        assert not self.stack, "Telegram entities here are never nested"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack:
            self.tagged.append(data)


def parse(markup: str) -> _Checker:
    # Only the three escapes Telegram documents (plus &quot; in attributes) may appear.
    stripped = markup.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "")
    stripped = stripped.replace("&quot;", "")
    assert "&" not in stripped, markup
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert not checker.stack, "unclosed tag"
    return checker


def test_post_markup_is_shown_as_text() -> None:
    text = 'Дивіться <b>тут</b> & <a href="http://x">тут</a> &amp; 1 < 2 > 0'
    markup = to_html([Run(text)])
    assert "<b>" not in markup and "<a " not in markup
    assert "&amp;amp;" in markup
    assert "".join(parse(markup).text) == text


def test_highlight_wraps_spans_and_escapes_the_rest() -> None:
    text = "Постачання <ППО> & енергетика"
    runs = highlight(text, [Mark(11, 16), Mark(19, 29), Mark(21, 25)])
    markup = to_html(runs)
    assert markup == "Постачання <b>&lt;ППО&gt;</b> &amp; <b>енергетика</b>"
    assert plain(runs) == text


def test_highlight_with_offset_clips_spans_outside_the_slice() -> None:
    runs = highlight("друге речення", [Mark(0, 5), Mark(10, 15), Mark(30, 40)], offset=10)
    assert to_html(runs) == "<b>друге</b> речення"


def test_short_text_is_one_chunk() -> None:
    assert render_chunks([Run("Коротко.")]) == ["Коротко."]
    assert render_chunks([Run("   ")]) == []


def test_long_post_splits_at_sentence_ends() -> None:
    sentence = "Це речення має рівно кілька слів і закінчується крапкою. "
    text = sentence * 200  # about 11,000 characters
    chunks = render_chunks([Run(text)])
    assert len(chunks) >= 3
    for chunk in chunks:
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
        assert chunk.endswith("крапкою.")
        assert chunk.startswith("Це речення")
    assert " ".join(chunks) == text.strip()


def test_giant_sentence_without_punctuation_splits_between_words() -> None:
    words = [f"слово{i}" for i in range(2500)]
    text = " ".join(words)
    chunks = render_chunks([Run(text)])
    assert len(chunks) >= 4
    assert all(utf16_len(c) <= TELEGRAM_LIMIT for c in chunks)
    assert [w for c in chunks for w in c.split(" ")] == words


def test_entities_are_never_cut() -> None:
    text = "&" * 5000  # every character escapes to five
    chunks = render_chunks([Run(text)])
    assert all(utf16_len(c) <= TELEGRAM_LIMIT for c in chunks)
    assert "".join(html.unescape(c) for c in chunks) == text
    for chunk in chunks:
        assert chunk.replace("&amp;", "") == ""


def test_emoji_without_spaces_are_not_cut_in_half() -> None:
    family = "👩‍👩‍👧‍👦"
    text = (family + "🇺🇦" + "👍🏽") * 800
    chunks = render_chunks([Run(text)])
    assert len(chunks) > 1
    assert all(utf16_len(c) <= TELEGRAM_LIMIT for c in chunks)
    assert "".join(chunks) == text
    clusters = (family, "🇺🇦", "👍🏽")
    for chunk in chunks:
        assert chunk.startswith(clusters) and chunk.endswith(clusters)


def test_highlight_split_across_chunks_is_closed_and_reopened() -> None:
    text = "початок " + "виділене " * 1000 + "кінець"
    runs = highlight(text, [Mark(8, len(text) - 7)], "u")
    chunks = render_chunks(runs)
    assert len(chunks) > 1
    for chunk in chunks:
        checker = parse(chunk)
        assert checker.tagged
    assert " ".join("".join(parse(c).text) for c in chunks) == text


def test_join_runs_merges_plain_text() -> None:
    runs = join_runs("a", [Run("b"), Run("c", "b")], "d", "", [Run("e")])
    assert runs == [Run("ab"), Run("c", "b"), Run("de")]


def test_buttons_fit_callback_limit_and_speak_the_language() -> None:
    assert button("full", 123, "uk").as_dict() == {
        "text": "Повний текст",
        "callback_data": "full:123",
    }
    assert button("mute", 9, "en").text == "Mute this source"
    assert button("rel", 9, "ru").text == "Ранее"
    assert len(button("rel", 2**62, "uk").callback_data.encode()) <= 64
    with pytest.raises(ValueError, match="64 bytes"):
        Button("x", "page:" + "я" * 40)


hostile = st.lists(
    st.one_of(
        st.sampled_from(
            [*list("<>&\"' \n.!?«»„“…"), "&amp;", "<b>", "</a>", "\u200f", "🇺🇦", "👍🏽"]
        ),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=300,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    hostile,
    st.lists(st.tuples(st.integers(0, 600), st.integers(1, 40)), max_size=6),
    st.integers(40, 400),
)
def test_rendered_chunks_are_valid_bounded_and_round_trip(
    text: str, raw_marks: list[tuple[int, int]], limit: int
) -> None:

    marks = [Mark(a, a + n) for a, n in raw_marks]
    runs = highlight(text, marks, "b")
    pieces = split_runs(runs, limit)
    rebuilt: list[str] = []
    for piece in pieces:
        markup = to_html(piece)
        assert utf16_len(markup) <= limit
        checker = parse(markup)
        assert "".join(checker.text) == plain(piece)
        assert plain(piece).strip()
        rebuilt.append(plain(piece))
    # Only whitespace at the cuts is dropped; every other character survives in order.
    assert "".join("".join(rebuilt).split()) == "".join(text.split())


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=60), st.integers(60, 400))
def test_long_random_text_chunks_fit_the_telegram_limit(unit: str, times: int) -> None:
    text = unit * times
    for chunk in render_chunks([Run(text)]):
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
        parse(chunk)
