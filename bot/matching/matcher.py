"""Every active rule at once, decided mostly by set operations over what a post contains.

Each rule is an OR of clauses (bot/matching/clauses.py). A clause's terms become atoms shared
by every rule that has them: a word atom is hit when the post has one of its keys, a form,
prefix or channel atom by a lookup. These "cheap" atoms of a post are all found at once, by set
operations over its keys and forms at C speed. A clause made of cheap atoms only (most rules:
words, AND, OR, NOT, from:) is decided by more set operations: per clause size n and position
i, a table from atom to the clauses whose i-th atom it is; the clauses of size n whose atoms the
post all has are the intersection of the n tables' hits, less those with an atom that must be
absent. No Python step runs per rule or per clause.

A phrase, an acronym, a prefix or a regex is a "costly" atom, checked on the text, and only for
clauses whose cheap atoms all hold (a phrase's words, an acronym's form, a prefix's first
letters are cheap atoms its clause also needs): such clauses are indexed by one cheap atom
they need, and the post's candidates among them are checked one by one.

`match` answers which rules match; where each matched (`RuleMatch.spans`) is worked out from the
rule's tree (parts.py) only when read: an alert reads it for the one or two rules it shows.
Adding or removing a rule touches only its own entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.matching.analysis import Analysis
from bot.matching.clauses import Leaf, to_clauses
from bot.matching.lemmas import rule_keys
from bot.matching.parts import (
    Part,
    RuleMatch,
    Span,
    as_analysis,
    compile_part,
    match_rule,
)
from bot.matching.rules import Exact, FromSource, Phrase, Prefix, RuleNode, Word

__all__ = ["Matcher", "RuleMatch", "Span", "match_rule"]

_PREFIX_INDEX = 3  # prefixes are indexed by their first letters (a rule's prefix has 3 or more)

# What finds a cheap atom in a post, from the most to the least selective: the anchor of a
# costly clause is its cheap atom of the lowest rank (the first in the rule among equals).
_RANK = {"key": 0, "form": 0, "pre": 1, "chan": 2}


class _Atom:
    __slots__ = ("costly", "id", "index", "refs", "values", "what")

    def __init__(self, what: object, atom_id: int, index: str, values: tuple[str, ...]) -> None:
        self.what = what  # the term (or the key set of a word), as the matcher knows it by
        self.id = atom_id
        self.index = index  # "key", "form", "pre", "chan": the table that finds it; "" costly
        self.values = values  # what it is found by in that table
        self.refs = 0
        self.costly: Part | None = None  # checked on the post when its clause gets that far


@dataclass(slots=True)
class _Clause:
    rule_id: int
    need: tuple[int, ...]  # cheap atoms it needs, the anchor first
    absent: frozenset[int]  # cheap atoms it must not have
    costly: tuple[_Atom, ...]  # costly atoms it needs
    costly_absent: tuple[_Atom, ...]  # costly atoms it must not have
    atoms: tuple[_Atom, ...]  # every atom it holds a reference to

    @property
    def cheap(self) -> bool:
        """Decided by set operations alone."""
        return bool(self.need) and not self.costly and not self.costly_absent


@dataclass(slots=True)
class _Entry:
    part: Part
    clauses: list[int]


def _add(table: dict[int, set[int]], key: int, value: int) -> None:
    found = table.get(key)
    if found is None:
        table[key] = {value}
    else:
        found.add(value)


def _discard(table: dict[int, set[int]], key: int, value: int) -> None:
    found = table.get(key)
    if found is not None:
        found.discard(value)
        if not found:
            del table[key]


class Matcher:
    """All active rules, indexed by the atoms their clauses need."""

    def __init__(self) -> None:
        self._rules: dict[int, _Entry] = {}
        self._clauses: dict[int, _Clause] = {}
        self._rule_of: dict[int, int] = {}  # clause -> rule
        self._next_clause = 0
        self._atoms: dict[object, _Atom] = {}  # by what the atom is
        self._next_atom = 0
        # What finds the cheap atoms of a post: key / form / first letters / channel -> atoms.
        self._found: dict[str, dict[str, set[int]]] = {k: {} for k in _RANK}
        # Cheap clauses: size -> per position, atom -> clauses; and atom -> clauses it voids.
        self._by_size: dict[int, list[dict[int, set[int]]]] = {}
        self._voided: dict[int, set[int]] = {}
        # Costly clauses: anchor atom -> clauses; those without a cheap atom (a lone regex).
        self._anchored: dict[int, set[int]] = {}
        self._always: set[int] = set()

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    # -- building ------------------------------------------------------------------------

    def add(self, rule_id: int, node: RuleNode, *, channel: str | None = None) -> None:
        """Add (or replace) a rule; `channel` restricts it to one source's posts."""
        if rule_id in self._rules:
            self.remove(rule_id)
        part = compile_part(node)
        if part.anchors() is None:  # parse_rule refuses these; a hand-built tree might not
            raise ValueError(f"rule {rule_id} has nothing to look for")
        chan = channel.lower().lstrip("@") if channel else None
        restrict = [(self._chan_atom(chan), True)] if chan else []
        entry = _Entry(part, [])
        clauses = to_clauses(node)
        if clauses is None:
            # Too many clauses: the rule's tree is one costly atom, checked on every post
            # (of its channel, when it has one).
            tree = self._atom(("tree", rule_id), "", ())
            tree.costly = part
            entry.clauses.append(self._add_clause(rule_id, [(tree, True), *restrict]))
        else:
            for clause in clauses:
                lits = [lit for leaf, sign in clause for lit in self._literals(leaf, sign)]
                entry.clauses.append(self._add_clause(rule_id, lits + restrict))
        self._rules[rule_id] = entry

    def _literals(self, leaf: Leaf, present: bool) -> list[tuple[_Atom, bool]]:
        """The atoms a term is made of: itself, and while it must be present, the cheap atoms
        it cannot be present without (a phrase's words, an acronym's form)."""
        if isinstance(leaf, Word):
            keys = rule_keys(leaf.form)
            return [(self._atom(("w", keys), "key", tuple(keys)), present)]
        if isinstance(leaf, FromSource):
            return [(self._chan_atom(leaf.channel), present)]
        if isinstance(leaf, Exact) and leaf.cased is None:
            return [(self._atom(("f", leaf.form), "form", (leaf.form,)), present)]
        atom = self._atom(leaf, "", ())
        if atom.costly is None:
            atom.costly = compile_part(leaf)
        out = [(atom, present)]
        if not present:
            return out
        if isinstance(leaf, Exact):
            out += self._literals(Exact(leaf.form), True)
        elif isinstance(leaf, Phrase):
            # The longest word first: the likeliest to be rare, and the first is the anchor.
            for w in sorted(leaf.words, key=lambda w: -len(w.form)):
                out += self._literals(w, True)
        elif isinstance(leaf, Prefix) and len(leaf.prefix) >= _PREFIX_INDEX:
            pre = leaf.prefix[:_PREFIX_INDEX]
            out.append((self._atom(("pre", pre), "pre", (pre,)), True))
        return out

    def _chan_atom(self, channel: str) -> _Atom:
        return self._atom(("chan", channel), "chan", (channel,))

    def _atom(self, what: object, index: str, values: tuple[str, ...]) -> _Atom:
        atom = self._atoms.get(what)
        if atom is None:
            atom = self._atoms[what] = _Atom(what, self._next_atom, index, values)
            self._next_atom += 1
            if index:
                table = self._found[index]
                for v in values:
                    table.setdefault(v, set()).add(atom.id)
        return atom

    def _add_clause(self, rule_id: int, lits: list[tuple[_Atom, bool]]) -> int:
        cid = self._next_clause
        self._next_clause += 1
        atoms = {a.id: a for a, _ in lits}  # in the rule's order, each once
        for a in atoms.values():
            a.refs += 1
        need = {a.id: a for a, sign in lits if sign and not a.costly}
        # The anchor first: of the cheapest kind to find, the first in the rule's order.
        order = sorted(need.values(), key=lambda a: _RANK[a.index])
        clause = _Clause(
            rule_id,
            tuple(a.id for a in order),
            frozenset(a.id for a, sign in lits if not sign and not a.costly),
            tuple({a.id: a for a, sign in lits if sign and a.costly}.values()),
            tuple({a.id: a for a, sign in lits if not sign and a.costly}.values()),
            tuple(atoms.values()),
        )
        self._clauses[cid] = clause
        self._rule_of[cid] = rule_id
        if clause.cheap:
            tables = self._by_size.setdefault(len(clause.need), [{} for _ in clause.need])
            for table, atom_id in zip(tables, clause.need, strict=True):
                _add(table, atom_id, cid)
            for atom_id in clause.absent:
                _add(self._voided, atom_id, cid)
        elif clause.need:
            _add(self._anchored, clause.need[0], cid)
        else:
            self._always.add(cid)
        return cid

    def remove(self, rule_id: int) -> None:
        entry = self._rules.pop(rule_id, None)
        if entry is None:
            return
        for cid in entry.clauses:
            clause = self._clauses.pop(cid)
            del self._rule_of[cid]
            if clause.cheap:
                tables = self._by_size[len(clause.need)]
                for table, atom_id in zip(tables, clause.need, strict=True):
                    _discard(table, atom_id, cid)
                if not tables[0]:
                    del self._by_size[len(clause.need)]
                for atom_id in clause.absent:
                    _discard(self._voided, atom_id, cid)
            elif clause.need:
                _discard(self._anchored, clause.need[0], cid)
            else:
                self._always.discard(cid)
            for atom in clause.atoms:
                atom.refs -= 1
                if atom.refs == 0:
                    self._drop(atom)

    def _drop(self, atom: _Atom) -> None:
        del self._atoms[atom.what]
        if atom.index:
            table = self._found[atom.index]
            for v in atom.values:
                ids = table[v]
                ids.discard(atom.id)
                if not ids:
                    del table[v]

    def clear(self) -> None:
        for rule_id in list(self._rules):
            self.remove(rule_id)

    # -- matching ------------------------------------------------------------------------

    def _hits(self, a: Analysis, channel: str) -> set[int]:
        """The cheap atoms the post has."""
        found = self._found
        by_key = found["key"]
        hit: set[int] = set().union(*map(by_key.__getitem__, by_key.keys() & a.keyset))
        by_form = found["form"]
        if by_form:
            hit.update(*map(by_form.__getitem__, by_form.keys() & a.formset))
        by_pre = found["pre"]
        if by_pre:
            firsts = {f[:_PREFIX_INDEX] for f in a.formset}
            hit.update(*map(by_pre.__getitem__, by_pre.keys() & firsts))
        by_chan = found["chan"].get(channel)
        if by_chan:
            hit.update(by_chan)
        return hit

    def _costly_candidates(self, hit: set[int]) -> set[int]:
        anchored = self._anchored
        found: set[int] = set().union(*map(anchored.__getitem__, anchored.keys() & hit))
        return found | self._always if self._always else found

    def candidates(self, a: Analysis, channel: str) -> set[int]:
        """Rules that may match: those with a clause whose first atom (its anchor) the post
        has. Costly clauses among them are checked one by one; the rest are decided by the
        other atoms' tables."""
        hit = self._hits(a, channel.lower().lstrip("@"))
        found = set(self._costly_candidates(hit))
        for tables in self._by_size.values():
            first = tables[0]
            found.update(*map(first.__getitem__, first.keys() & hit))
        return {self._rule_of[c] for c in found}

    def match_ids(self, a: Analysis, channel: str) -> list[int]:
        """The ids of the rules that match the post, in order."""
        channel = channel.lower().lstrip("@")
        hit = self._hits(a, channel)
        matched: set[int] = set()
        for tables in self._by_size.values():
            both: set[int] | None = None
            for table in tables:
                got: set[int] = set().union(*map(table.__getitem__, table.keys() & hit))
                both = got if both is None else both & got
                if not both:
                    break
            if both:
                matched |= both
        voided = self._voided
        if voided and matched:
            matched.difference_update(*map(voided.__getitem__, voided.keys() & hit))
        rule_of = self._rule_of
        rules = set(map(rule_of.__getitem__, matched))
        clauses = self._clauses
        checked: dict[int, bool] = {}
        for cid in self._costly_candidates(hit):
            c = clauses[cid]
            if c.rule_id in rules or not hit.issuperset(c.need) or not hit.isdisjoint(c.absent):
                continue
            if all(_check(x, a, channel, checked) for x in c.costly) and not any(
                _check(x, a, channel, checked) for x in c.costly_absent
            ):
                rules.add(c.rule_id)
        return sorted(rules)

    def match(self, text_or_analysis: str | Analysis, channel: str) -> list[RuleMatch]:
        """Every rule that matches the post, by rule id. Where each matched (`spans`) is
        worked out only for the matches whose spans are read."""
        a = as_analysis(text_or_analysis)
        channel = channel.lower().lstrip("@")
        rules = self._rules
        return [RuleMatch(r, None, rules[r].part, a, channel) for r in self.match_ids(a, channel)]


def _check(atom: _Atom, a: Analysis, channel: str, checked: dict[int, bool]) -> bool:
    """A costly atom's verdict on the post, once per post however many clauses ask."""
    found = checked.get(atom.id)
    if found is None:
        assert atom.costly is not None
        found = checked[atom.id] = atom.costly.test(a, channel)
    return found
