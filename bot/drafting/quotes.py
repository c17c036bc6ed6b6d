"""House style for a quote: the post's own words inside the marks a newsroom prints.

Pure functions. The quote's words are never changed; what changes is what surrounds and marks
them: emoji are dropped, quotation marks inside become the inner kind („…“ in uk/ru, ‘…’ in
English), a post that is itself one quotation is not wrapped twice, the speaker's own
"— наголосив X" tail is cut off (the lead names the speaker), and the full stop goes after the
closing guillemet in uk/ru (inside the closing quote in English). Every character of the result
remembers where it came from in the post, so matched words can still be highlighted.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from bot.drafting.abbreviations import FUNCTION_WORDS
from bot.drafting.html import html_cost
from bot.drafting.sentences import (
    SpanLike,
    ends_with_abbreviation,
    grapheme_safe,
    is_emoji_part,
)
from bot.drafting.speakers import Speaker, head_is_someone_elses, tail_is_speakers

# Outer and inner quotation marks per language.
MARKS: dict[str, tuple[str, str, str, str]] = {
    "uk": ("«", "»", "„", "“"),
    "ru": ("«", "»", "„", "“"),
    "en": ("“", "”", "‘", "’"),
}

# Speech verbs of a "— наголосив Умєров." tail, uk and ru, any gender or number.
_SPEECH = (
    r"(?:наголоси|зазначи|заяви|сказа|повідоми|підкресли|дода|запевни|розпові|відзначи|"
    r"пояснив|поясни|наголошу|підкреслю|зазнача|"
    r"подчеркну|отмети|заяви|сказа|сообщи|добави|уточни|рассказа|заверил|завери)"
    r"\w{0,4}"
)
# An initial before a surname ("В. Зеленський", "J. Smith"): its full stop ends no sentence.
_INITIAL = r"(?<![\w.])[A-ZА-ЯІЇЄҐЁ]\."
# ", — наголосив Умєров." or "», — наголосила вона." at the very end of the quote.
_TAIL = re.compile(
    r"(?:(?<=[»”\"])\s*,?|\s*,)\s*[—–]\s*(?P<verb>"
    + _SPEECH
    + r")(?:\s+(?P<who>(?:"
    + _INITIAL
    + r"|[^.!?«»\n]){1,80}))?[.!?]?\s*$",
    re.IGNORECASE,
)
# "…, сообщил министр." / "…, заявив міністр." / "…, the minister said." / "…, said Umerov.":
# the same tail after a bare comma. A comma is weaker evidence than a dash ("Він приїхав,
# сказав кілька слів" is one sentence), so the verb must be past tense and what follows it a
# speaker: a pronoun, a title or a capitalised name, at most five words.
_PAST = ("в", "л", "ла", "ло", "ли")
_WHO_UK_RU = (
    r"(?:він|вона|вони|он|она|они|"
    r"(?:міністр|министр|президент|прем|голов|глав|речни|представни|спікер|спикер|посол|посл|"
    r"командувач|командующ|губернатор|мер|мэр|керівни|руководител|очільни|директор|секретар|"
    r"заступни|заместител|омбудсм|уповноважен|уполномочен|депутат|нардеп|генерал|посадов|"
    r"чиновни|джерел|источни|відомств|ведомств|міністерств|министерств|прес|пресс)[\w'’ʼ-]*|"
    r"(?:[А-ЯІЇЄҐЁ]\.\s*){0,2}[А-ЯІЇЄҐЁ][\w'’ʼ-]*)"
)
_COMMA_TAIL_UK_RU = re.compile(
    r"\s*,\s*(?P<verb>"
    + _SPEECH
    + r")\s+(?P<who>"
    + _WHO_UK_RU
    + r"(?:\s+[^\W\d][\w'’ʼ-]*){0,4})\s*[.!?]?\s*$"
)
_EN_SPEECH = (
    r"(?P<verb>said|added|stressed|noted|explained|emphasi[sz]ed|stated|announced|wrote|"
    r"told reporters|assured|clarified|insisted|warned)"
)
_WHO_EN = r"(?:he|she|they|(?:the|a|an)\s+\w[\w'’-]*|[A-Z][\w'’-]*)(?:\s+[^\W\d][\w'’.-]*){0,4}"
_COMMA_TAIL_EN = re.compile(
    # The comma may stand inside the closing mark: “…soon,” Carter said.
    r"\s*,[”\"’]?\s*(?:[—–]\s*)?(?:(?P<who>"
    + _WHO_EN
    + r")\s+"
    + _EN_SPEECH
    + r"|"
    + _EN_SPEECH.replace("?P<verb>", "?P<verb2>")
    + r"\s+(?P<who2>"
    + _WHO_EN
    + r"))\s*[.!?]?\s*$"
)


def _speaker_tail(s: str) -> tuple[int, str, str] | None:
    """Where the speaker's own tail starts in `s`, its verb and who it names ("" for none)."""
    m = _TAIL.search(s)
    if m and m.start() > 0:
        return m.start(), m.group("verb"), (m.group("who") or "").strip()
    m = _COMMA_TAIL_UK_RU.search(s)
    if m is not None and not m.group("verb").casefold().endswith(_PAST):
        m = None
    m = m or _COMMA_TAIL_EN.search(s)
    if m is None or m.start() == 0:
        return None
    found = m.groupdict()
    verb = found.get("verb") or found.get("verb2") or ""
    # A preposition means an object follows ("розповіли Президенту про ситуацію"): no tail.
    spoken = re.sub(_INITIAL, " ", m.group(0)).casefold()  # "В. Гордієнко": no preposition
    words = re.findall(r"[^\W\d_][\w'’ʼ-]*", spoken)
    if any(w in FUNCTION_WORDS and w not in _SPEAKER_WORDS for w in words):
        return None
    return m.start(), verb, (found.get("who") or found.get("who2") or "").strip()


# Function words a speaker's description may hold ("the minister of defence said").
_SPEAKER_WORDS = frozenset(["the", "a", "an", "of"])


_PAIRS = {"«": "»", "„": "“", "“": "”", '"': '"', "‘": "’"}

# The number or bullet that opens a list item ("1)", "2.", "а)", "—", "•").
_LIST_MARKER = re.compile(r"(?:\d{1,2}[.)]|[a-zа-яієїґ]\)|[—–\-•·*►▪])[ \t\u00a0]+")

_LEADING_TAGS = re.compile(r"(?:#\w+[ \t\u00a0]+)+")
_TRAILING_TAGS = re.compile(r"(?:[ \t\u00a0]+#\w+)+\s*$")
_ONLY_TAGS = re.compile(r"\s*#\w+(?:\s+#\w+)*\s*")

# A draft quotes whole sentences (sentences.choose_quote; several together stay within 600
# characters). Only a sentence longer than this, a text the splitter finds no sentence end in
# (a run-on report, a decree's preamble, the text read from a picture), is cut: around the
# rule's words, at spaces, each cut marked "…" (shorten_quote); the whole post is a tap away
# (the permalink, "Full text"). The cap of the Earlier section's block: one quote reads on a
# phone screen, and an alert quoting it twice (an update) stays one Telegram message.
QUOTE_CHARS = 1200


@dataclass(frozen=True, slots=True)
class StyledQuote:
    """`text` with `origin[i]` the offset in the post of `text[i]`, or -1 for a mark we added."""

    text: str
    origin: tuple[int, ...]
    tail_verb: str | None  # the verb of a cut "— наголосив X" tail, as the post had it
    tail_lang: str | None  # "uk" or "ru" when the quote's letters tell
    after: str  # punctuation printed after the closing mark ("." in uk/ru), already in `text`
    # The quote keeps a tail naming somebody else ("— заявив Зеленський"): the channel relays
    # those words, and a line recalling them says it reported them, not that it stated them.
    relayed: bool = False


def _strip_emoji(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    dropped = False  # an emoji went since the last character kept
    for ch, at in chars:
        if is_emoji_part(ch):
            dropped = True
            continue
        if ch.isspace() and (not out or out[-1][0].isspace()):
            continue  # no double space where an emoji stood
        if dropped and ch in ".,!?;:…" and out and out[-1][0].isspace():
            out.pop()  # "коридор 💪." -> "коридор."
        dropped = dropped and ch.isspace()
        out.append((ch, at))
    while out and out[-1][0].isspace():
        out.pop()
    return out


def _wrapped_whole(s: str) -> bool:
    """True if the whole of `s` is one quotation: an opening mark at the start whose closing
    mark is the last one ("«…»", "«…».", "\"…\"")."""
    if len(s) < 2 or s[0] not in _PAIRS:
        return False
    close = _PAIRS[s[0]]
    body = s.rstrip(".")
    if not body.endswith(close) or len(body) < 2:
        return False
    depth = 0
    inner = body[1:-1]
    # An inner closing mark of the same kind before the end means two quotations, not one.
    for ch in inner:
        if ch == s[0] and s[0] != close:
            depth += 1
        elif ch == close:
            if depth == 0:
                return False
            depth -= 1
    return depth == 0


def style_quote(
    post_text: str, start: int, end: int, lang: str, speaker: Speaker | None = None
) -> StyledQuote:
    """`post_text[start:end]` as the draft prints it, marks included. The quote's own speaker
    tail is cut only when it names `speaker`, the one the lead names (any speaker when None)."""
    left, right, _, inner_right = MARKS.get(lang, MARKS["en"])
    chars = _strip_emoji([(post_text[i], i) for i in range(start, end)])
    s = "".join(c for c, _ in chars)
    # A channel's tags before or after the words ("#новини") are filing, not speech; one
    # inside a sentence is a word of it.
    # A post of tags alone has no other words: it is quoted whole.
    if not _ONLY_TAGS.fullmatch(s):
        tags = _LEADING_TAGS.match(s)
        if tags is not None and tags.end() < len(s):
            chars, s = chars[tags.end() :], s[tags.end() :]
        tags = _TRAILING_TAGS.search(s)
        if tags is not None and tags.start() > 0:
            chars, s = chars[: tags.start()], s[: tags.start()]
    verb: str | None = None
    tail = _speaker_tail(s)
    relayed = tail is not None
    before = post_text[max(0, start - 400) : start]
    if tail is not None and tail_is_speakers(speaker, tail[1], tail[2], before):
        cut, verb, _ = tail
        chars = chars[:cut]
        s = s[:cut]
        relayed = False
    if not relayed and head_is_someone_elses(speaker, s):
        relayed = True  # "Марта Кінг: «…»": her words, the channel's report
    # A list item's number or bullet and the comma, semicolon or colon that led on to the next
    # item are the list's, not the speaker's words.
    marker = _LIST_MARKER.match(s)
    if marker is not None and marker.end() < len(s):
        chars, s = chars[marker.end() :], s[marker.end() :]
    kept = len(s.rstrip(",;: \t"))
    if 0 < kept < len(s):
        chars, s = chars[:kept], s[:kept]
    if _wrapped_whole(s):
        body_end = len(s.rstrip("."))
        chars = chars[1 : body_end - 1]
        s = s[1 : body_end - 1]
    out = _inner_marks(chars, s, lang)
    text = "".join(c for c, _ in out)
    origin = [a for _, a in out]
    after = ""
    # A quotation that closes the quote ends its sentence inside its own mark ("…conflict.’").
    inner_stop = len(text) >= 2 and text[-1] == inner_right and text[-2] in ".!?…"
    if lang in ("uk", "ru"):
        # The stop of an abbreviation ("2025 р.") is part of the words and stays.
        if text.endswith(".") and not text.endswith("..") and not ends_with_abbreviation(text):
            text, origin = text[:-1], origin[:-1]
        elif (
            inner_stop
            and text[-2] == "."
            and not text[:-1].endswith("..")
            and not ends_with_abbreviation(text[:-1])
        ):
            # „…конфлікт.“ -> „…конфлікт“, the one stop after every closing mark.
            text, origin = text[:-2] + text[-1], origin[:-2] + origin[-1:]
        if not text.endswith(("!", "?", "…", "...")):
            after = "."
    elif not text.endswith((".", "!", "?", "…")) and not inner_stop:
        text, origin = text + ".", [*origin, -1]
    final = left + text + right + after
    origin_all = (-1, *origin, -1, *([-1] * len(after)))
    lang_of = _letters_lang(post_text[start:end])
    return StyledQuote(final, origin_all, verb, lang_of, after, relayed)


def _inner_marks(chars: list[tuple[str, int]], s: str, lang: str) -> list[tuple[str, int]]:
    """The quote's own quotation marks as the draft prints them inside its marks: the inner kind
    („…“, ‘…’), the outer kind again one level further in («…„…«…»…“…»), as house style nests
    them. A mark whose partner is not in the quote (the quotation opened in an earlier sentence,
    or never closed in the post) is left out: printed, it would leave the quote unbalanced."""
    left, right, inner_left, inner_right = MARKS.get(lang, MARKS["en"])
    out: list[tuple[str, int]] = []
    # The opening marks not closed yet, innermost last: the post's mark, where it was printed,
    # and the closing mark printed for it.
    opened: list[tuple[str, int, str]] = []
    unmatched: set[int] = set()

    def open_mark(ch: str, at: int) -> None:
        level_two = len(opened) % 2 == 1
        out.append((left if level_two else inner_left, at))
        opened.append((ch, len(out) - 1, right if level_two else inner_right))

    def close_mark(at: int) -> None:
        if not opened:
            out.append(("", at))  # a closing mark with no opening in the quote
            unmatched.add(len(out) - 1)
            return
        out.append((opened.pop()[2], at))

    # An English quotation in a uk/ru draft: its “ opens only when a ” closes it later (else
    # it is the „…“ kind's closing mark). Where the last ” is, found once.
    last_english_close = s.rfind("”")
    for k, (ch, at) in enumerate(chars):
        top = opened[-1][0] if opened else ""
        if ch == '"':
            if top == '"':
                close_mark(at)
            elif _opens(s, k) or s.count('"', k + 1) % 2 == 1:
                open_mark(ch, at)
            else:
                close_mark(at)
        elif ch == "“" and top == "„":
            # „…“: in uk/ru “ closes what „ opened, whatever the draft's language.
            close_mark(at)
        elif ch in "«„" or (ch == "“" and (lang == "en" or k < last_english_close)):
            open_mark(ch, at)
        elif ch in "»”" or (ch == "“" and opened):
            close_mark(at)
        else:
            out.append((ch, at))
    unmatched |= {printed for _, printed, _ in opened}
    return [(c, at) for n, (c, at) in enumerate(out) if n not in unmatched]


def shorten_quote(
    styled: StyledQuote,
    limit: int,
    spans: Iterable[tuple[int, int]] = (),
    *,
    weight: Callable[[str], int] | None = None,
) -> StyledQuote:
    """`styled` with at most about `limit` of its words: for a line that only recalls a post
    (the background's "Earlier:"), and for a draft's quote only past QUOTE_CHARS (one sentence
    that long, see there). The words around the first matched one (`spans`, offsets into the
    post), cut at spaces, each cut marked "…" inside the quotation marks. `weight`: what one
    character costs against `limit` (1 each unless given: a draft measures what it costs in
    Telegram HTML, where "&" is five). A quote within `limit` is returned as it is."""
    left = len(MARKS["en"][0])  # every language's opening mark is one character
    tail = 1 + len(styled.after)  # the closing mark, then the stop printed after it
    lo, hi = left, len(styled.text) - tail
    text, origin = styled.text, styled.origin
    # cost[k]: what text[lo:lo + k] costs.
    cost = list(accumulate((weight(ch) if weight else 1 for ch in text[lo:hi]), initial=0))
    if cost[-1] <= limit or limit < 1:
        return styled
    marks = sorted(spans)
    first = next(
        (k for k in range(lo, hi) if origin[k] >= 0 and any(a <= origin[k] < b for a, b in marks)),
        lo,
    )
    # A third of the room before the first matched word, the rest after it.
    start = lo + bisect_left(cost, cost[first - lo] - limit // 3)
    if start > lo:
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = lo + bisect_right(cost, cost[start - lo] + limit) - 1
    if end < hi:
        space = text.rfind(" ", start + 1, end + 1)
        end = space if space > start else end
    # A word with no space in `limit` characters is cut where it must, never inside a letter
    # and its accent.
    while start > lo and not grapheme_safe(text, start):
        start -= 1
    while end < hi and not grapheme_safe(text, end):
        end -= 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:—–-"):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    body = _balanced(list(zip(text[start:end], origin[start:end], strict=True)), text[0])
    if start > lo:
        body = [("…", -1), *body]
    if end < hi:
        body = [*body, ("…", -1)]
    chars = list(zip(text[:lo], origin[:lo], strict=True)) + body
    chars += list(zip(text[hi:], origin[hi:], strict=True))
    return StyledQuote(
        "".join(c for c, _ in chars),
        tuple(a for _, a in chars),
        styled.tail_verb,
        styled.tail_lang,
        styled.after,
        styled.relayed,
    )


def _balanced(chars: list[tuple[str, int]], outer: str) -> list[tuple[str, int]]:
    """`chars` cut out of a printed quote (whose opening mark is `outer`) less the quotation
    marks whose partner the cut left outside. An unmatched ’ stays: it is an apostrophe too."""
    marks = next((m for m in MARKS.values() if m[0] == outer), MARKS["en"])
    openers, closers = {marks[0], marks[2]}, {marks[1], marks[3]}
    stack: list[int] = []
    drop: set[int] = set()
    for n, (ch, _) in enumerate(chars):
        if ch in openers:
            stack.append(n)
        elif ch in closers:
            if stack:
                stack.pop()
            elif ch != "’":
                drop.add(n)
    drop.update(stack)
    return [c for n, c in enumerate(chars) if n not in drop]


def fit_quote(
    styled: StyledQuote,
    start: int,
    end: int,
    focus: Iterable[SpanLike],
    marks: Sequence[tuple[int, int]],
) -> tuple[StyledQuote, int, int]:
    """A draft's quote of `post[start:end]` as it prints: `styled` itself, or past QUOTE_CHARS
    (as it costs in Telegram HTML) its part around what an edit changed (`focus`), else around
    the rule's words (`marks`); with the stretch of the post it prints."""
    centre = [(f.start, f.end) for f in focus if f.start < end and f.end > start] or marks
    cut = shorten_quote(styled, QUOTE_CHARS, centre, weight=html_cost)
    if cut is styled:
        return styled, start, end
    at = [a for a in cut.origin if a >= 0]
    return cut, min(at), max(at) + 1


def _opens(s: str, k: int) -> bool:
    before = s[k - 1] if k > 0 else " "
    return before.isspace() or before in "([«„—–-:"


_UK_ONLY = set("іїєґ")
_RU_ONLY = set("ыэёъ")


def _letters_lang(text: str) -> str | None:
    letters = set(text.casefold())
    if letters & _UK_ONLY:
        return "uk"
    if letters & _RU_ONLY:
        return "ru"
    return None


def speaker_verb(verb: str | None, lang: str, post_lang: str | None) -> str | None:
    """The tail's verb for a lead in `lang`: as the post has it when the post is in that
    language (`post_lang`), in English from a small table ("stressed"); None otherwise, so the
    lead says "said"."""
    if not verb:
        return None
    folded = verb.casefold()
    if folded.startswith(_ADDED):
        return None  # "Гайова додала у Telegram: «…»": a lead has nothing before it to add to
    if lang in ("uk", "ru"):
        return folded if post_lang == lang else None
    for stem, english in _EN_VERBS:
        if folded.startswith(stem):
            return english
    return None


_ADDED = ("дода", "добав", "added")

# Stems of uk/ru speech verbs and the English verb a lead uses for them.
_EN_VERBS = (
    ("наголос", "stressed"),
    ("наголош", "stressed"),
    ("підкресл", "stressed"),
    ("подчеркн", "stressed"),
    ("зазнач", "noted"),
    ("отмет", "noted"),
    ("відзнач", "noted"),
    ("запевн", "assured"),
    ("завер", "assured"),
    ("поясн", "explained"),
    ("уточн", "clarified"),
    # An English post's own tail ("…, he added.") keeps its verb.
    *(
        (v, v)
        for v in [
            "said",
            "added",
            "stressed",
            "noted",
            "explained",
            "emphasised",
            "emphasized",
            "stated",
            "announced",
            "wrote",
            "assured",
            "clarified",
            "insisted",
            "warned",
        ]
    ),
)


def post_language(text: str) -> str | None:
    """ "uk" or "ru" when the letters tell, "en" for Latin-only text, else None."""
    lang = _letters_lang(text)
    if lang is not None:
        return lang
    if any("a" <= ch <= "z" for ch in text.casefold()) and not any(
        "\u0400" <= ch <= "\u04ff" for ch in text
    ):
        return "en"
    return None
