"""Telegram HTML: escaping, highlighting matched words, splitting long text, buttons.

Pure functions. Formatted text is a list of `Run`s (plain text plus at most one tag), and HTML is
produced only by `to_html`, which escapes every run. Post text therefore never reaches Telegram
as markup: a post containing `<b>` or `&amp;` shows those characters.

Telegram refuses a message over 4096 characters. We measure the HTML itself in UTF-16 code
units (what Telegram counts), which bounds the visible text too, so a chunk that passes here can
never be refused for length however Telegram counts.
"""

from __future__ import annotations

import bisect
import html
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.drafting.sentences import SpanLike, break_points, grapheme_safe
from bot.i18n import N_, translator

MESSAGE_LIMIT = 4096
CALLBACK_LIMIT = 64  # bytes of callback_data

Tag = Literal["b", "i", "u", "s", "code", "a"]

_ESCAPED_COST = {"&": len("&amp;"), "<": len("&lt;"), ">": len("&gt;")}


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of text with one optional tag; `href` only for `a`."""

    text: str
    tag: Tag | None = None
    href: str | None = None

    def open_tag(self) -> str:
        if self.tag is None:
            return ""
        if self.tag == "a":
            return f'<a href="{html.escape(self.href or "", quote=True)}">'
        return f"<{self.tag}>"

    def close_tag(self) -> str:
        return "" if self.tag is None else f"</{self.tag}>"


def escape(text: str) -> str:
    """Escape for Telegram's HTML parse mode (it knows &lt; &gt; &amp; &quot; only)."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_cost(ch: str) -> int:
    """What one character of post text costs in a message as split_runs measures it: its
    escaped form in UTF-16 units."""
    return _ESCAPED_COST.get(ch, 1 if ch < "\U00010000" else 2)


def to_html(runs: Iterable[Run]) -> str:
    return "".join(r.open_tag() + escape(r.text) + r.close_tag() for r in runs)


def plain(runs: Iterable[Run]) -> str:
    return "".join(r.text for r in runs)


def highlight(
    text: str, spans: Iterable[SpanLike], tag: Tag = "b", *, offset: int = 0
) -> list[Run]:
    """`text` as runs with every span (offsets into the original, shifted by `offset` when `text`
    is a slice starting there) wrapped in `tag`. Overlapping spans merge; out-of-range parts are
    clipped."""
    marks: list[tuple[int, int]] = []
    for s in spans:
        a, b = max(0, s.start - offset), min(len(text), s.end - offset)
        if a < b:
            marks.append((a, b))
    marks.sort()
    merged: list[tuple[int, int]] = []
    for a, b in marks:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    runs: list[Run] = []
    pos = 0
    for a, b in merged:
        if a > pos:
            runs.append(Run(text[pos:a]))
        runs.append(Run(text[a:b], tag))
        pos = b
    if pos < len(text):
        runs.append(Run(text[pos:]))
    return runs


def join_runs(*parts: Sequence[Run] | str) -> list[Run]:
    """Concatenate runs and plain strings; adjacent untagged runs are merged."""
    out: list[Run] = []
    for part in parts:
        items = [Run(part)] if isinstance(part, str) else list(part)
        for r in items:
            if not r.text:
                continue
            if out and out[-1].tag is None and r.tag is None:
                out[-1] = Run(out[-1].text + r.text)
            else:
                out.append(r)
    return out


class _Layout:
    """Cost (UTF-16 units of HTML) of rendering any slice of a run list."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self.runs = [r for r in runs if r.text]
        self.text = plain(self.runs)
        self.starts: list[int] = []
        pos = 0
        for r in self.runs:
            self.starts.append(pos)
            pos += len(r.text)
        self.prefix = list(
            itertools.accumulate(
                (html_cost(ch) for ch in self.text),
                initial=0,
            )
        )

    def run_at(self, i: int) -> int:
        return bisect.bisect_right(self.starts, i) - 1

    def cost(self, a: int, b: int) -> int:
        if a >= b:
            return 0
        total = self.prefix[b] - self.prefix[a]
        for k in range(self.run_at(a), self.run_at(b - 1) + 1):
            r = self.runs[k]
            total += utf16_len(r.open_tag()) + len(r.close_tag())
        return total

    def slice(self, a: int, b: int) -> list[Run]:
        out: list[Run] = []
        for k in range(self.run_at(a), self.run_at(b - 1) + 1):
            r = self.runs[k]
            lo = max(a, self.starts[k]) - self.starts[k]
            hi = min(b, self.starts[k] + len(r.text)) - self.starts[k]
            if lo < hi:
                out.append(Run(r.text[lo:hi], r.tag, r.href))
        return out


def split_runs(runs: Sequence[Run], limit: int = MESSAGE_LIMIT) -> list[list[Run]]:
    """Cut formatted text into pieces whose HTML fits `limit` UTF-16 units.

    Prefers, in order: a line break, a sentence end, a space; only a text with no space in
    `limit` characters is cut between characters (never inside an emoji or an accent). Tags are
    closed and reopened around a cut, so every piece is valid HTML. Whitespace at a cut is
    dropped; pieces are never empty.
    """
    lay = _Layout(runs)
    text = lay.text
    n = len(text)
    if n == 0:
        return []
    levels: list[list[int]] | None = None  # computed only for a text that needs cutting
    pieces: list[list[Run]] = []
    pos = 0
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        if lay.cost(pos, n) <= limit:
            end = n
        else:
            if levels is None:
                levels = list(break_points(text))
            end = _best_cut(lay, pos, limit, levels)
        piece = lay.slice(pos, end)
        trimmed = _rstrip_runs(piece)
        if trimmed:
            pieces.append(trimmed)
        pos = end
    return pieces


def _furthest_fit(lay: _Layout, pos: int, limit: int) -> int:
    """The largest end with cost(pos, end) <= limit (at least pos + 1)."""
    lo, hi = pos + 1, len(lay.text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if lay.cost(pos, mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _best_cut(lay: _Layout, pos: int, limit: int, levels: Sequence[Sequence[int]]) -> int:
    far = _furthest_fit(lay, pos, limit)
    for i, cuts in enumerate(levels):
        k = bisect.bisect_right(cuts, far) - 1
        # A paragraph or sentence break is worth it only if it keeps at least half a message;
        # otherwise a later, finer break wastes less space.
        floor = pos + (far - pos) // 2 if i < len(levels) - 1 else pos
        if k >= 0 and cuts[k] > floor:
            return cuts[k]
    end = far
    while end > pos + 1 and not grapheme_safe(lay.text, end):
        end -= 1
    return end


def _rstrip_runs(runs: list[Run]) -> list[Run]:
    out = list(runs)
    while out:
        last = out[-1]
        stripped = last.text.rstrip()
        if stripped:
            out[-1] = Run(stripped, last.tag, last.href)
            break
        out.pop()
    return out


def render_chunks(runs: Sequence[Run], limit: int = MESSAGE_LIMIT) -> list[str]:
    """HTML messages for formatted text, each within `limit`."""
    return [to_html(piece) for piece in split_runs(runs, limit)]


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    callback_data: str

    def __post_init__(self) -> None:
        if len(self.callback_data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback_data over {CALLBACK_LIMIT} bytes: {self.callback_data!r}")

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "callback_data": self.callback_data}


_BUTTON_LABELS: dict[str, str] = {
    "full": N_("Full text"),
    "mute": N_("Mute this source"),
    "rel": N_("Earlier posts"),
}


def button(action: Literal["full", "mute", "rel"], ident: int, lang: str) -> Button:
    """An alert's button, labelled in the reader's language (the catalogue)."""
    return Button(translator(lang).gettext(_BUTTON_LABELS[action]), f"{action}:{ident}")
