"""Short excerpts of a post around its matched words, for search results."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.drafting.html import Run


class HasSpan(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


def _plain(s: str) -> str:
    return s


def snippet(
    text: str,
    spans: Sequence[HasSpan] = (),
    *,
    width: int = 200,
    mark: tuple[str, str] = ("[", "]"),
    escape: Callable[[str], str] = _plain,
) -> str:
    """About `width` characters around the first match, matches wrapped in `mark`.

    `escape` is applied to the post's text but not to the marks, so the same function serves
    plain text and Telegram HTML (escape=html.escape, mark=("<b>", "</b>")).
    """
    flat = " ".join(text.split())
    if flat != text:
        # Offsets refer to the original text; re-map them onto the whitespace-collapsed copy.
        spans = _remap(text, spans)
    text = flat
    if not text:
        return ""
    spans = sorted((s for s in spans if 0 <= s.start < s.end <= len(text)), key=lambda s: s.start)
    first = spans[0].start if spans else 0
    start = max(0, first - width // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    out: list[str] = ["…" if start else ""]
    pos = start
    for s in spans:
        if s.start < pos or s.end > end:
            continue
        out.append(escape(text[pos : s.start]))
        out.append(mark[0] + escape(text[s.start : s.end]) + mark[1])
        pos = s.end
    out.append(escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


# Marks no post text keeps (they are dropped from it first), turned into bold runs.
_OPEN, _CLOSE = "\ue000", "\ue001"


def snippet_runs(text: str, spans: Sequence[HasSpan] = (), *, width: int = 200) -> list[Run]:
    """`snippet` as formatted runs, the matches in bold, for a message sent as Telegram HTML
    (plain "[…]" marks there read as the post's own brackets)."""

    def strip(piece: str) -> str:
        return piece.replace(_OPEN, "").replace(_CLOSE, "")

    marked = snippet(text, spans, width=width, mark=(_OPEN, _CLOSE), escape=strip)
    runs: list[Run] = []
    for k, piece in enumerate(re.split(f"[{_OPEN}{_CLOSE}]", marked)):
        if piece:
            runs.append(Run(piece, "b" if k % 2 else None))
    return runs


class _Span:
    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


def _remap(text: str, spans: Sequence[HasSpan]) -> list[_Span]:
    mapping: list[int] = []  # original index -> collapsed index
    pos = 0
    prev_space = True
    for ch in text:
        mapping.append(pos)
        if ch.isspace():
            if not prev_space:
                pos += 1
            prev_space = True
        else:
            pos += 1
            prev_space = False
    mapping.append(pos)
    return [
        _Span(mapping[s.start], mapping[s.end]) for s in spans if 0 <= s.start < s.end <= len(text)
    ]
