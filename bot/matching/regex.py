"""User regular expressions (`/pattern/` in a rule) on RE2, whose time is linear in the text:
a journalist's pattern can never stall the service, however it is written.

Patterns are written as editors know them from Python's `re`; the differences that matter are
bridged here (Unicode \\w, \\b at the edges) and anything RE2 cannot run is refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.matching.errors import RuleSyntaxError

MAX_REGEX_LENGTH = 200
# RE2's compiled size of a pattern. Its time is linear in the post, but the factor grows with
# this: (.|..){1,100}! is about 2,000 and takes a millisecond on a 4,096-character post, while
# (.|..){1,1000}! (20,000) takes most of a second, which the event loop cannot spare.
MAX_REGEX_PROGRAM = 2500

# Python's \w is any letter; RE2's is ASCII only. Rules written for `re` mean the former.
_WORD_CLASS = "\\pL\\pN_"
_UNICODE_CLASSES = {"\\w": f"[{_WORD_CLASS}]", "\\W": f"[^{_WORD_CLASS}]"}
_IN_CLASS = {"\\w": _WORD_CLASS}
# RE2's \b is ASCII only too, and it has no look-around: a \b that opens or closes the pattern
# becomes "start of text or a non-word character" and the span is trimmed back to the word.
_EDGE_START = f"(?:^|[^{_WORD_CLASS}])"
_EDGE_END = f"(?:[^{_WORD_CLASS}]|$)"


@dataclass(frozen=True, slots=True)
class CompiledRegex:
    """A rule's pattern compiled by RE2, and whether its spans carry one extra character at
    either end (the stand-in for a leading or trailing \\b)."""

    rx: Any
    trim_start: bool
    trim_end: bool

    def search(self, text: str) -> bool:
        return self.rx.search(text) is not None

    def spans(self, text: str, limit: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for m in self.rx.finditer(text):
            start, end = m.start(), m.end()
            if self.trim_start and start < end and not _is_word(text[start]):
                start += 1
            if self.trim_end and start < end and not _is_word(text[end - 1]):
                end -= 1
            if end > start:
                out.append((start, end))
                if len(out) >= limit:
                    break
        return out


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _to_re2(pattern: str, pos: int) -> tuple[str, bool, bool]:
    """The pattern in RE2's dialect with Python's meaning of \\w, \\W and \\b, and whether a
    leading or trailing \\b was turned into a character to trim from spans."""
    body, lead, trail = pattern, False, False
    if not pattern.isascii():
        # Around Cyrillic letters RE2's \b never fires; an edge \b can be emulated.
        if body.startswith("\\b"):
            body, lead = body[2:], True
        if body.endswith("\\b") and not body.endswith("\\\\b"):
            body, trail = body[:-2], True
    out: list[str] = []
    i, n, in_class = 0, len(body), False
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            esc = body[i : i + 2]
            if in_class and esc == "\\W":
                raise RuleSyntaxError(
                    "\\W inside [...] is not supported at character {pos}; use [^...]",
                    pos,
                    pos=pos,
                )
            if esc in ("\\b", "\\B") and not pattern.isascii():
                raise RuleSyntaxError(
                    "\\b or \\B inside a pattern with non-Latin letters at character {pos}: "
                    "only a \\b at its very start or end is supported",
                    pos,
                    pos=pos,
                )
            out.append((_IN_CLASS if in_class else _UNICODE_CLASSES).get(esc, esc))
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            # A ] right after [ or [^ is a literal, not the end of the class.
            if body.startswith("^", i):
                out.append("^")
                i += 1
            if body.startswith("]", i):
                out.append("]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    translated = "".join(out)
    if lead:
        translated = f"{_EDGE_START}(?:{translated})"
    if trail:
        translated = f"(?:{translated}){_EDGE_END}"
    return translated, lead, trail


def _refusal(exc: Exception, pos: int) -> RuleSyntaxError:
    """Why RE2 refused a pattern, in words the reader's language has (RE2's own are English):
    a typo is named, since "look-arounds are not supported" sent an editor who forgot a ] to
    look for a look-around. The exception chain keeps RE2's wording for the log."""
    raw = exc.args[0] if exc.args else b""
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    code, _, fragment = detail.partition(": ")
    if code == "missing ]":
        return RuleSyntaxError(
            "bad regular expression at character {pos}: a [ is not closed", pos, pos=pos
        )
    if code == "missing )":
        return RuleSyntaxError(
            "bad regular expression at character {pos}: a ( is not closed", pos, pos=pos
        )
    if code in ("unexpected )", "missing ("):
        return RuleSyntaxError(
            "bad regular expression at character {pos}: a ) closes nothing", pos, pos=pos
        )
    if code in (
        "invalid repetition size",
        "bad repetition operator",
        "no argument for repetition operator",
    ):
        return RuleSyntaxError(
            "bad regular expression at character {pos}: the repetition {fragment} is not valid",
            pos,
            pos=pos,
            fragment=fragment,
        )
    if code == "invalid character class range":
        return RuleSyntaxError(
            "bad regular expression at character {pos}: the range {fragment} is not valid",
            pos,
            pos=pos,
            fragment=fragment,
        )
    # What is left is Perl syntax RE2 does not run: look-arounds, back-references (\1),
    # named back-references, possessive and atomic groups.
    return RuleSyntaxError(
        "bad regular expression at character {pos} (back-references and look-arounds are "
        "not supported)",
        pos,
        pos=pos,
    )


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return re2.compile(pattern, options)


def compile_regex(pattern: str, pos: int = 0) -> CompiledRegex:
    """A rule's regular expression compiled by RE2, which takes time linear in the text, so no
    pattern can stall the service; raises RuleSyntaxError saying why a pattern is refused."""
    import re2

    if not pattern:
        raise RuleSyntaxError("empty regular expression at character {pos}", pos, pos=pos)
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleSyntaxError(
            "regular expression longer than {n} characters at character {pos}",
            pos,
            n=MAX_REGEX_LENGTH,
            pos=pos,
        )
    translated, lead, trail = _to_re2(pattern, pos)
    try:
        rx = _compiled(translated)
    except re2.error as exc:
        raise _refusal(exc, pos) from exc
    # Sized as written (with RE2's ASCII \\w): the Unicode letter class adds a thousand
    # instructions that the DFA runs as byte ranges at no extra cost per character.
    try:
        size = _compiled(pattern).programsize
    except re2.error:
        size = rx.programsize
    if size > MAX_REGEX_PROGRAM:
        raise RuleSyntaxError(
            "regular expression at character {pos} is too complex (large repeat counts); "
            "simplify it",
            pos,
            pos=pos,
        )
    if rx.search("") is not None:
        raise RuleSyntaxError(
            "regular expression matches empty text at character {pos}; it would match every post",
            pos,
            pos=pos,
        )
    return CompiledRegex(rx, lead, trail)
