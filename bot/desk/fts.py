"""A rule as an FTS5 pre-filter. It selects a SUPERSET of what the rule matches (NOT parts, regexes
and from: are left to the caller), and search verifies every candidate with `match_rule`.
"""

from __future__ import annotations

from bot.matching.analysis import fts_key
from bot.matching.lemmas import rule_keys
from bot.matching.rules import And, Exact, Not, Or, Phrase, Prefix, RuleNode, Word
from storage.fts_query import AllOf, AnyOf, FtsNode
from storage.fts_query import Phrase as FtsPhrase
from storage.fts_query import Term as FtsTerm


def _word(form: str) -> FtsNode | None:
    keys = sorted({fts_key(k) for k in rule_keys(form)})
    if not keys:
        return None
    if len(keys) == 1:
        return FtsTerm(keys[0], "lemmas")
    return AnyOf(tuple(FtsTerm(k, "lemmas") for k in keys))


def rule_to_fts(node: RuleNode) -> FtsNode | None:
    """An FTS expression every post the rule matches satisfies; None when FTS cannot narrow."""
    if isinstance(node, Word):
        return _word(node.form)
    if isinstance(node, Exact):
        # unicode61 splits on the apostrophe: м'ясо is the two norm tokens "м" "ясо", in order.
        pieces = tuple(p for p in node.form.split("'") if p)
        if len(pieces) == 1:
            return FtsTerm(pieces[0], "norm")
        return FtsPhrase(pieces, "norm")
    if isinstance(node, Prefix):
        if "'" in node.prefix:
            return None
        return FtsTerm(node.prefix, "norm", prefix=True)
    if isinstance(node, Phrase):
        # Lemma keys have no positions worth trusting (a word has several), so all of them.
        each = [_word(w.form) for w in node.words]
        present = tuple(w for w in each if w is not None)
        return AllOf(present) if present else None
    if isinstance(node, And):
        found = tuple(p for p in (rule_to_fts(x) for x in node.parts) if p is not None)
        if not found:
            return None
        return found[0] if len(found) == 1 else AllOf(found)
    if isinstance(node, Or):
        parts = [rule_to_fts(x) for x in node.parts]
        if any(p is None for p in parts):
            return None
        return AnyOf(tuple(p for p in parts if p is not None))
    if isinstance(node, Not):
        return None
    return None  # Regex, FromSource: the caller filters
