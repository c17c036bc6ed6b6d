"""Finding English sentences in what the bot sent someone whose language is not English.

A run of two or more Latin-alphabet words is an English sentence unless every word in it is
data rather than interface: a name the test put into the database, words the person typed, or
a token that reads the same in every language (Telegram, CSV, OR, FloodWait...). Links,
@usernames, /commands and search filters are dropped first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

# Tokens that are not English prose: product and format names, rule and search keywords, units,
# the role names typed after /people add.
_NEUTRAL_WORDS = """
wirewatch Telegram FloodWait CSV JSON Excel UTC OR AND NOT HH MM YYYY DD B KiB MiB GiB
uk en ru English on off yes no id admin editor journalist
"""
NEUTRAL = frozenset(w.casefold() for w in _NEUTRAL_WORDS.split())
_TAGS = re.compile(r"<[^>]*>")
_LINKS = re.compile(r"(?:https?://|t\.me/)\S+")
_ZONES = re.compile(r"\b[A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?")  # Europe/Kyiv: an identifier
_HANDLES = re.compile(r"[@/#][\w.]+")
_FILTERS = re.compile(r"\b(?:from|since|until|edited|deleted):\S*", re.IGNORECASE)
_RUN = re.compile(r"[A-Za-z]{2,}(?:[ ,;’'-]+[A-Za-z]{2,})+")
_WORD = re.compile(r"[A-Za-z]{2,}")


def words_of(texts: Iterable[str]) -> set[str]:
    return {w.casefold() for t in texts for w in _WORD.findall(t)}


def english_sentences(text: str, data_words: AbstractSet[str] = frozenset()) -> list[str]:
    """The English runs in `text` (Telegram HTML or plain) that are not data."""
    plain = html.unescape(_TAGS.sub(" ", text))
    for pattern in (_LINKS, _ZONES, _FILTERS, _HANDLES):
        plain = pattern.sub(" ", plain)
    found = []
    for run in _RUN.finditer(plain):
        words = {w.casefold() for w in _WORD.findall(run.group())}
        if words - NEUTRAL - data_words:
            found.append(run.group())
    return found
