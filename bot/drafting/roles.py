"""A source's role in the draft's language, and what a draft says when the desk gave none.

Pure. A desk enters a role in the language it works in ("секретар РНБО"); an English draft
must not print it inside an English sentence as if it were English. The role is taken, in
order: from the source in the draft's language; from the glossary, when an entry the draft was
given is named as the role in another language (its name in the reader's language) or is the
source's own person (its note in the reader's language: "Secretary of the National Security
and Defense Council"); else the role in the language it was given, in square brackets, the
newsroom's mark for words to check before publishing, and the alert says how to give it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.drafting.glossary import Entry
from bot.drafting.texts import LANG_CODES


def role_in(values: Mapping[str, str | None], lang: str) -> str | None:
    """The role in `lang`; else one given in another language, marked "[…]" for the journalist
    to translate; None when there is none at all."""
    own = values.get(lang)
    if own and own.strip():
        return own.strip()
    other = foreign(values, lang)
    return f"[{other}]" if other else None


def foreign(values: Mapping[str, str | None], lang: str) -> str | None:
    """The role given in another language than `lang` when `lang` has none."""
    own = values.get(lang)
    if own and own.strip():
        return None
    for other in LANG_CODES:
        value = values.get(other)
        if other != lang and value and value.strip():
            return value.strip()
    return None


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def glossary_role(
    role: Mapping[str, str | None],
    person: Mapping[str, str | None],
    lang: str,
    entries: Sequence[Entry],
) -> str | None:
    """The role in `lang` as the glossary gives it: an entry named as the role in another
    language, or the note of the entry naming the source's person."""
    given = [v for v in role.values() if v and v.strip()]
    names = [v for v in person.values() if v and v.strip()]
    for entry in entries:
        if entry.names.get(lang) and any(_same(n, r) for n in entry.names.values() for r in given):
            return entry.names[lang]
    for entry in entries:
        if (
            entry.kind == "person"
            and entry.note.get(lang)
            and any(_same(n, p) for n in entry.names.values() for p in names)
        ):
            return entry.note[lang]
    return None


@dataclass(frozen=True, slots=True)
class Localized:
    """A source as a draft in one language names it (storage.models.Source's attribution, with
    the role the glossary translates filled in)."""

    username: str
    title: str | None
    gender: str | None
    person: Mapping[str, str | None]
    role: Mapping[str, str | None]
    short_role: Mapping[str, str | None]


class SourceLike(Protocol):
    """What attribution needs of a source (storage.models.Source satisfies it)."""

    @property
    def username(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def gender(self) -> str | None: ...
    @property
    def person(self) -> Mapping[str, str | None]: ...
    @property
    def role(self) -> Mapping[str, str | None]: ...
    @property
    def short_role(self) -> Mapping[str, str | None]: ...


def localized(source: SourceLike, lang: str, entries: Sequence[Entry]) -> SourceLike:
    """`source` with its role in `lang` taken from the glossary `entries` when the desk gave
    none in `lang` (the source itself when there is nothing to fill)."""
    if not entries or foreign(source.role, lang) is None:
        return source
    found = glossary_role(source.role, source.person, lang, entries)
    if found is None:
        return source
    return Localized(
        source.username,
        source.title,
        source.gender,
        source.person,
        {**source.role, lang: found},
        source.short_role,
    )
