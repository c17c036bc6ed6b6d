"""The glossary's TOML file: read (re-read when it changes), and edited by `wirewatch glossary`
and the editors' /glossary command. The format is in `bot.drafting.glossary`."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.drafting.glossary import (
    Entry,
    Glossary,
    GlossaryError,
    dump_glossary,
    make_entry,
    parse_glossary,
)

log = logging.getLogger(__name__)

# What a glossary entry may hold when the desk adds one (the bot's /glossary and `wirewatch
# glossary add` both come through add_entry). The note is printed in every draft that mentions
# the name, and an entry is repeated in bot replies: a long one made drafts past Telegram's 4,096
# characters and replies that could not be sent. The longest official title in use is well under
# these.
NAME_LIMIT = 120
NOTE_LIMIT = 300
ALIAS_LIMIT = 20


def check_limits(
    names: Mapping[str, str | None],
    note: Mapping[str, str | None] | None = None,
    aliases: Sequence[str] = (),
) -> None:
    """Refuse, with the reason, names, notes and aliases too long for a draft or a reply."""
    for lang, value in names.items():
        if _size(value) > NAME_LIMIT:
            raise GlossaryError(
                "the {lang} name is {size} characters long; at most {limit} fit in a draft",
                lang=lang,
                size=_size(value),
                limit=NAME_LIMIT,
            )
    for lang, value in (note or {}).items():
        if _size(value) > NOTE_LIMIT:
            raise GlossaryError(
                "the {lang} note is {size} characters long; at most {limit} fit in a draft",
                lang=lang,
                size=_size(value),
                limit=NOTE_LIMIT,
            )
    for n, value in enumerate(aliases, 1):
        if _size(value) > NAME_LIMIT:
            raise GlossaryError(
                "alias {n} is {size} characters long; at most {limit} fit in a draft",
                n=n,
                size=_size(value),
                limit=NAME_LIMIT,
            )
    if len(aliases) > ALIAS_LIMIT:
        raise GlossaryError(
            "{count} aliases; an entry may have at most {limit}",
            count=len(aliases),
            limit=ALIAS_LIMIT,
        )


def _size(value: str | None) -> int:
    return len(value.strip()) if value else 0


def load_glossary(path: Path) -> Glossary:
    """The glossary at `path`; empty when there is no file yet."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Glossary()
    except OSError as exc:
        raise GlossaryError(
            "cannot read {path}: {reason}", path=str(path), reason=exc.strerror or str(exc)
        ) from exc
    except UnicodeDecodeError as exc:
        raise GlossaryError("{path} is not UTF-8 text", path=str(path)) from exc
    try:
        return parse_glossary(source)
    except GlossaryError as exc:
        raise GlossaryError("{path}: {reason}", path=str(path), reason=exc) from exc


def save_glossary(path: Path, glossary: Glossary) -> None:
    """Write the whole file at once (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".glossary-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# wirewatch glossary: people, places and institutions in uk/en/ru.\n")
            fh.write(dump_glossary(glossary))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def find_entry(glossary: Glossary, name: str) -> Entry | None:
    """The entry with `name` in any language (case and spacing aside)."""
    key = _key(name)
    for entry in glossary.entries:
        if any(_key(v) == key for v in entry.names.values()):
            return entry
    return None


def add_entry(
    path: Path,
    kind: str,
    names: Mapping[str, str | None],
    note: Mapping[str, str | None] | None = None,
    aliases: list[str] | None = None,
    *,
    keep: bool = False,
) -> tuple[Entry, bool]:
    """Add an entry, or replace the one that shares a name with it; (entry, replaced).

    `keep`: a name or note left empty keeps the replaced entry's, and so do its aliases (the
    bot's /glossary add, where "| Hakan Fidan | | note" means "the note", not "forget the other
    names"). An entry sharing names with two existing ones is refused: replacing both would
    merge two people, or two places, into one."""
    check_limits(names, note, aliases or ())
    glossary = load_glossary(path)
    entry = make_entry(kind, names, note, aliases or ())
    same = {_key(v) for v in entry.names.values()}
    hit = [e for e in glossary.entries if same & {_key(v) for v in e.names.values()}]
    if len(hit) > 1:
        first, second = (next(v for v in e.names.values() if _key(v) in same) for e in hit[:2])
        raise GlossaryError(
            "'{first}' and '{second}' name two different entries; remove one of them first",
            first=first,
            second=second,
        )
    if keep and hit:
        old = hit[0]
        entry = make_entry(
            kind,
            {**old.names, **entry.names},
            {**old.note, **entry.note},
            [*old.aliases, *(a for a in entry.aliases if a not in old.aliases)],
        )
    kept = [e for e in glossary.entries if e not in hit]
    save_glossary(path, Glossary([*kept, entry]))
    return entry, bool(hit)


def remove_entry(path: Path, name: str) -> Entry | None:
    glossary = load_glossary(path)
    entry = find_entry(glossary, name)
    if entry is None:
        return None
    save_glossary(path, Glossary([e for e in glossary.entries if e is not entry]))
    return entry


class GlossaryWatch:
    """The glossary as the pipeline uses it: re-read when the file changes; a file that
    breaks keeps the last good glossary (and says so in the log) rather than stop alerts."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._glossary = Glossary()

    def current(self) -> Glossary:
        if self.path is None:
            return self._glossary
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._glossary = load_glossary(self.path) if stamp else Glossary()
            except GlossaryError as exc:
                log.error("glossary not reloaded, keeping the previous one: %s", exc)
        return self._glossary
