"""The desk glossary: people, places and institutions in uk/en/ru, found in a post in any case
form and listed in the reader's language, in the nominative.

Pure: the TOML text in, entries out; finding names uses the matcher's own word forms
(pymorphy3 lemmas and the suffix stems it keeps for surnames), so "з Хаканом Фіданом" finds the
entry for "Хакан Фідан" and the draft says "Hakan Fidan, Foreign Minister of Türkiye".

```toml
[[entry]]
kind = "person"                     # person | place | institution
uk = "Хакан Фідан"
en = "Hakan Fidan"
ru = "Хакан Фидан"
note = { en = "Foreign Minister of Türkiye", uk = "міністр закордонних справ Туреччини" }
aliases = ["Фідан"]                 # optional: other spellings or short forms to recognise
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from bot.drafting import texts
from bot.i18n import LocalizedError
from bot.matching import Analysis, Matcher, analyze, parse_rule
from bot.matching.rules import RuleSyntaxError

KINDS = ("person", "place", "institution")


class GlossaryError(LocalizedError):
    """A glossary file or entry that cannot be used; the message says where and why, as a
    msgid: `str(exc)` is English (the CLI), the bot answers it in the editor's language."""


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    names: Mapping[str, str]  # lang -> name in the nominative
    note: Mapping[str, str] = field(default_factory=dict)  # lang -> who or what it is
    aliases: tuple[str, ...] = ()

    def name_in(self, lang: str) -> str:
        return self.names.get(lang) or next(v for v in self.names.values() if v)

    def line(self, lang: str) -> str:
        """ "Hakan Fidan, Foreign Minister of Türkiye" (the note only when there is one)."""
        note = self.note.get(lang)
        return f"{self.name_in(lang)}, {note}" if note else self.name_in(lang)

    def forms(self) -> list[str]:
        """What to look for: every name, every alias, and a person's surname alone."""
        out: list[str] = []
        for value in [*self.names.values(), *self.aliases]:
            if value and value not in out:
                out.append(value)
        if self.kind == "person":
            for name in list(self.names.values()):
                parts = name.split()
                if len(parts) > 1 and len(parts[-1]) >= 4 and parts[-1] not in out:
                    out.append(parts[-1])
        return out

    def as_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for lang in texts.LANG_CODES:
            if self.names.get(lang):
                out[lang] = self.names[lang]
        if self.note:
            out["note"] = dict(self.note)
        if self.aliases:
            out["aliases"] = list(self.aliases)
        return out


@dataclass(frozen=True, slots=True)
class Found:
    entry: Entry
    first: int  # offset of the first mention in the text


class Glossary:
    """Entries and a matcher that finds them (one rule per entry)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries = tuple(entries)
        self._matcher = Matcher()
        for n, entry in enumerate(self.entries):
            query = " OR ".join('"' + f.replace('"', " ") + '"' for f in entry.forms())
            try:
                self._matcher.add(n, parse_rule(query))
            except RuleSyntaxError as exc:
                raise GlossaryError(
                    "entry '{name}': {reason}", name=entry.name_in("en"), reason=exc
                ) from exc

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: str | Analysis) -> list[Found]:
        """Entries mentioned in `text`, in order of first mention."""
        analysis = analyze(text) if isinstance(text, str) else text
        found = [
            Found(self.entries[m.rule_id], min((s.start for s in m.spans), default=0))
            for m in self._matcher.match(analysis, "")
        ]
        return sorted(found, key=lambda f: f.first)


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GlossaryError("'{what}' must be a table like {{ en = \"...\" }}", what=what)
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in texts.LANG_CODES:
            raise GlossaryError(
                "'{what}' has unknown language '{lang}' (uk, en, ru)", what=what, lang=lang
            )
        if not isinstance(text, str):
            raise GlossaryError("'{what}.{lang}' must be text", what=what, lang=lang)
        if text.strip():
            out[lang] = text.strip()
    return out


def make_entry(
    kind: str,
    names: Mapping[str, str | None],
    note: Mapping[str, str | None] | None = None,
    aliases: Iterable[str] = (),
) -> Entry:
    """A checked entry: a known kind, at least one name, text only."""
    if kind not in KINDS:
        raise GlossaryError(
            "kind must be one of {kinds}, not '{kind}'", kinds=", ".join(KINDS), kind=kind
        )
    clean = {k: v.strip() for k, v in names.items() if v and v.strip()}
    if not clean:
        raise GlossaryError("an entry needs a name in at least one of uk, en, ru")
    notes = {k: v.strip() for k, v in (note or {}).items() if v and v.strip()}
    return Entry(kind, clean, notes, tuple(a.strip() for a in aliases if a.strip()))


def parse_glossary(source: str) -> Glossary:
    """The glossary in TOML text; GlossaryError says which entry is wrong and why."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError("not valid TOML: {reason}", reason=str(exc)) from exc
    raw = data.get("entry", [])
    if not isinstance(raw, list):
        raise GlossaryError("entries are [[entry]] tables")
    entries: list[Entry] = []
    for n, item in enumerate(raw, 1):
        try:
            entries.append(_entry(item))
        except GlossaryError as exc:
            raise GlossaryError("entry {n}: {reason}", n=n, reason=exc) from exc
    return Glossary(entries)


def _entry(item: object) -> Entry:
    if not isinstance(item, dict):
        raise GlossaryError("must be a table")
    names = {}
    for lang in texts.LANG_CODES:
        value = item.get(lang)
        if value is not None and not isinstance(value, str):
            raise GlossaryError("'{lang}' must be text", lang=lang)
        names[lang] = value
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise GlossaryError("'aliases' must be a list of text")
    note = _str_map(item.get("note"), "note")
    return make_entry(str(item.get("kind", "person")), names, note, aliases)


def dump_glossary(glossary: Glossary) -> str:
    return tomli_w.dumps({"entry": [e.as_toml() for e in glossary.entries]})
