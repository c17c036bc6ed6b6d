"""A rule decided from a post's stored keys, without re-reading its text.

Search needs to know which FTS5 hits the rule really matches: FTS5 answers a superset (its
tokenizer folds й into и and ignores the stem marks). For rules made of plain words, AND, OR,
NOT and from:, the keys stored with the post (`Analysis.lemma_text`, stem marks kept) decide
exactly what `match_rule` would decide, at the cost of a set lookup per word instead of an
analysis of the post. Forms, prefixes, phrases and regexes need the text: None.
"""

from __future__ import annotations

from bot.matching.lemmas import rule_keys
from bot.matching.rules import And, FromSource, Not, Or, RuleNode, Word


def stored_verdict(node: RuleNode, keys: frozenset[str] | set[str], channel: str) -> bool | None:
    """Whether `node` matches a post whose words carry `keys` (every key of every word, as
    stored); None when only the text can tell."""
    if isinstance(node, Word):
        return not rule_keys(node.form).isdisjoint(keys)
    if isinstance(node, FromSource):
        return channel.lower().lstrip("@") == node.channel
    if isinstance(node, Not):
        inner = stored_verdict(node.part, keys, channel)
        return None if inner is None else not inner
    if isinstance(node, And):
        undecided = False
        for part in node.parts:
            v = stored_verdict(part, keys, channel)
            if v is False:
                return False
            undecided = undecided or v is None
        return None if undecided else True
    if isinstance(node, Or):
        undecided = False
        for part in node.parts:
            v = stored_verdict(part, keys, channel)
            if v is True:
                return True
            undecided = undecided or v is None
        return None if undecided else False
    return None
