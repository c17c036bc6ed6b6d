"""A rule as an OR of clauses, each an AND of terms present and terms absent (disjunctive
normal form), so that the matcher decides most rules with set operations over the terms a
post contains, not by walking each rule's tree.

    Умєров (обмін OR переговори) -Туреччина
    -> {Умєров, обмін; not Туреччина} OR {Умєров, переговори; not Туреччина}

A few rules multiply out into many clauses ((a OR b) (c OR d) ... doubles with each group):
past `limit` clauses the answer is None and the matcher keeps that rule's tree.
"""

from __future__ import annotations

from bot.matching.rules import (
    And,
    Exact,
    FromSource,
    Not,
    Or,
    Phrase,
    Prefix,
    Regex,
    RuleNode,
    Word,
)

Leaf = Word | Exact | Prefix | Phrase | Regex | FromSource
Literal = tuple[Leaf, bool]  # the term, and whether it must be present (False: absent)
Clause = tuple[Literal, ...]  # in the rule's order, each literal once

DEFAULT_LIMIT = 64


class _TooMany(Exception):
    pass


def to_clauses(node: RuleNode, limit: int = DEFAULT_LIMIT) -> list[Clause] | None:
    """The clauses of `node` (a post matches the rule iff it matches one of them), without
    contradictory ones (a and not a); None when there would be more than `limit`. A clause
    keeps its terms in the order the rule has them (the matcher indexes it by the first)."""
    try:
        return _dnf(node, limit)
    except _TooMany:
        return None


def _dnf(node: RuleNode, limit: int) -> list[Clause]:
    if isinstance(node, And):
        out: list[Clause] = [()]
        for part in node.parts:
            out = _product(out, _dnf(part, limit), limit)
        return out
    if isinstance(node, Or):
        found: list[Clause] = []
        for part in node.parts:
            found.extend(_dnf(part, limit))
            if len(found) > limit:
                raise _TooMany
        return found
    if isinstance(node, Not):
        # not (C1 or C2 ...) = (not C1) and (not C2) ...; not (a and b) = (not a) or (not b).
        out = [()]
        for clause in _dnf(node.part, limit):
            out = _product(out, [((leaf, not sign),) for leaf, sign in clause], limit)
        return out
    return [((node, True),)]


def _product(left: list[Clause], right: list[Clause], limit: int) -> list[Clause]:
    out: list[Clause] = []
    for a in left:
        for b in right:
            clause = tuple(dict.fromkeys(a + b))
            if any((leaf, not sign) in clause for leaf, sign in b):
                continue  # a and not a: never true
            out.append(clause)
            if len(out) > limit:
                raise _TooMany
    return out
