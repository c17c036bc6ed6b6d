"""FTS5 query text from a small expression tree: what the index is asked, never user text as
typed. Every term is double-quoted and the expression is bound as a parameter
(storage/search.py); the PostgreSQL twin builds its tsquery from the same tree."""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from storage.db import migrations

Column = Literal["norm", "lemmas"]
PREFIX_INDEX = 4  # characters: the FTS5 prefix index the schema keeps


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    column: Column = "lemmas"
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]
    column: Column = "norm"


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[FtsNode, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[FtsNode, ...]
    exclude: tuple[FtsNode, ...] = ()


FtsNode = Term | Phrase | AnyOf | AllOf


# Each column of the post text has its twin over the text read from the post's images
# (migration 0005): a search finds words in a picture as well as in the caption.
_COLUMNS: dict[str, str] = {"norm": "{norm ocr_norm}", "lemmas": "{lemmas ocr_lemmas}"}


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


# `tokenize = ...` as a migration writes it: a quoted SQL string, its quotes doubled inside.
_TOKENIZE_ARG = re.compile(r"""tokenize = ('(?:[^']|'')*'|"(?:[^"]|"")*")""")


def index_tokenizer() -> str:
    """The index's tokenize argument, as the newest migration that sets one writes it (quoted):
    queries are split by the very tokenizer, separators included (migration 0022), that split
    the posts."""
    for _, _, sql in reversed(migrations()):
        found = _TOKENIZE_ARG.findall(sql)
        if found:
            return str(found[-1])
    raise LookupError("no migration sets the FTS tokenizer")


_tokenizer_lock = threading.Lock()
_tokenizer: sqlite3.Connection | None = None
_CACHED_TERM = 64  # characters: longer texts are tokenised each time (the cache stays small)


def fts_tokens(text: str) -> tuple[str, ...]:
    """`text` as the index's tokenizer splits and folds it. The index keeps no positions
    (migration 0022, `detail = column`), so FTS5 refuses a quoted string of two tokens (a
    phrase): a term is sent as its tokens, and which characters part them is SQLite's own
    answer (unicode61's categories and Unicode version), not a guess made here."""
    if len(text) <= _CACHED_TERM:
        return _cached_tokens(text)
    return _tokens(text)


@lru_cache(maxsize=4096)
def _cached_tokens(text: str) -> tuple[str, ...]:
    return _tokens(text)


def _tokens(text: str) -> tuple[str, ...]:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            conn.executescript(
                f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = {index_tokenizer()});"
                "CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');"
            )
            _tokenizer = conn
        _tokenizer.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
        try:
            rows = _tokenizer.execute("SELECT term FROM v ORDER BY offset").fetchall()
        finally:
            _tokenizer.execute("DELETE FROM t")
    return tuple(str(r[0]) for r in rows)


def _all_of(column: Column, tokens: list[str], prefix: bool = False) -> str:
    """Every token in the columns, anywhere: a superset of the phrase they make, which callers
    verify. `prefix`: the last token is a prefix, narrowed to the indexed length (migration
    0003), again a superset, at a fraction of the cost of a longer prefix."""
    quoted = [_quote(t) for t in tokens]
    if prefix:
        quoted[-1] = _quote(tokens[-1][:PREFIX_INDEX]) + " *"
    body = quoted[0] if len(quoted) == 1 else "(" + " AND ".join(quoted) + ")"
    return f"{_COLUMNS[column]} : {body}"


def _exact(node: FtsNode) -> bool:
    """Whether FTS5 matches exactly what `node` says: only such a node may be excluded (NOT), as
    excluding a superset would drop posts that `node` does not match."""
    if not isinstance(node, Term):
        return False
    tokens = fts_tokens(node.text)
    return len(tokens) == 1 and (not node.prefix or len(tokens[0]) <= PREFIX_INDEX)


def to_fts(node: FtsNode) -> str | None:
    """FTS5 query text for `node`; None when `node` matches no post (no positive part has a
    token). It may match more than `node` says (a phrase's words anywhere, prefixes cut to the
    indexed length): callers verify hits."""
    if isinstance(node, Term):
        tokens = list(fts_tokens(node.text))
        return _all_of(node.column, tokens, node.prefix) if tokens else None
    if isinstance(node, Phrase):
        tokens = [t for w in node.words for t in fts_tokens(w)]
        return _all_of(node.column, tokens) if tokens else None
    if isinstance(node, AnyOf):
        # A branch without a query matches nothing (a term without a token is an empty phrase,
        # as FTS5 had it; an AND of such terms likewise): the other branches decide.
        parts = [p for p in (to_fts(x) for x in node.parts) if p]
        return "(" + " OR ".join(parts) + ")" if parts else None
    pos = [p for p in (to_fts(x) for x in node.parts) if p]
    if not pos:
        return None
    expr = "(" + " AND ".join(pos) + ")"
    neg = [p for p in (to_fts(x) for x in node.exclude if _exact(x)) if p]
    if neg:
        expr = f"{expr} NOT ({' OR '.join(neg)})"
    return expr
