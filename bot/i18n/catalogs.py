"""Keeping the catalogues whole: extract the messages from the code, merge them into each
language's `.po`, and check that every language has every message.

    python -m bot.i18n update   # after adding or changing a message in the code
    python -m bot.i18n check    # in `make lint`: exit 1 on a message missing in any language
"""

from __future__ import annotations

import contextlib
import copy
import io
import string
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, ERROR_KEYWORDS, LANGS, po_path

ROOT = Path(__file__).resolve().parent.parent.parent
# What people read in the bot: the bot's code, storage's link parsing and the listener's
# channel errors (both reach /watch and /post). CLI output and the operator's sources file stay
# English (operators read them), so they are not extracted.
_METHODS = [
    ("bot/cli/**.py", "ignore"),
    ("bot/desk/sources_file.py", "ignore"),
    ("bot/**.py", "python"),
    ("storage/records.py", "python"),
    ("sources/telegram/channels.py", "python"),
]


_HEADER = """\
# wirewatch: the {lang} messages of the bot. msgid is the English text in the code; translate
# msgstr, keep every {{placeholder}}. After changing messages in the code run
# `python -m bot.i18n update`; `python -m bot.i18n check` (make lint) wants every entry filled."""


def extract(root: Path = ROOT) -> Catalog:
    """Every msgid the code uses, in source order."""
    return extract_with_warnings(root)[0]


def extract_with_warnings(root: Path = ROOT) -> tuple[Catalog, list[str]]:
    """The msgids, and Babel's complaints: an f-string handed to gettext or to an error class
    cannot be looked up in a catalogue (fill a `{name}` placeholder instead)."""
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update({name: None for name in ERROR_KEYWORDS})
    template = Catalog(domain=DOMAIN, project="wirewatch")
    complaints = io.StringIO()
    with contextlib.redirect_stderr(complaints):
        found = list(
            extract_from_dir(
                str(root),
                _METHODS,
                keywords=keywords,
                comment_tags=("i18n:",),
                strip_comment_tags=True,
            )
        )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    warnings = [line for line in complaints.getvalue().splitlines() if "warning" in line]
    return template, warnings


def _texts(value: object) -> list[str]:
    """A message's id or string as a list: one text, or the plural forms."""
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return [str(value or "")]


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<malformed braces>"}


def read(lang: str, path: Path | None = None) -> Catalog:
    with (path or po_path(lang)).open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def problems(template: Catalog, lang: str, catalog: Catalog) -> Iterable[str]:
    """What is wrong with one language's catalogue against the code's messages."""
    wanted = {m.id for m in template if m.id}
    for msg in template:
        if not msg.id:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        have = catalog.get(msg.id)
        if have is None:
            yield f"{lang}: missing {key!r}"
            continue
        if have.fuzzy:
            yield f"{lang}: fuzzy (unreviewed) {key!r}"
        forms = _texts(have.string)
        if isinstance(msg.id, tuple) and len(forms) != catalog.num_plurals:
            yield f"{lang}: {key!r} needs {catalog.num_plurals} plural forms, has {len(forms)}"
        expected = set().union(*(_fields(i) for i in _texts(msg.id)))
        for form in forms:
            if not form:
                yield f"{lang}: untranslated {key!r}"
            elif _fields(form) != expected:
                yield (
                    f"{lang}: {key!r} placeholders {sorted(_fields(form))} != {sorted(expected)}"
                )
    for have in catalog:
        if have.id and have.id not in wanted:
            key = have.id[0] if isinstance(have.id, tuple) else have.id
            yield f"{lang}: {key!r} is no longer used by the code (run python -m bot.i18n update)"


def check() -> list[str]:
    template, warnings = extract_with_warnings()
    out: list[str] = list(warnings)
    for lang in LANGS:
        if not po_path(lang).exists():
            out.append(f"{lang}: no catalogue at {po_path(lang)}")
            continue
        out.extend(problems(template, lang, read(lang)))
    return out


def update() -> None:
    """Merge the code's messages into every catalogue; English starts from the source text."""
    template = extract()
    for lang in LANGS:
        path = po_path(lang)
        if path.exists():
            catalog = read(lang)
            kept = catalog.creation_date  # no churn in the header: merges stay clean
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=DOMAIN, project="wirewatch")
            kept = catalog.creation_date
        # A copy each: Catalog.update shares the template's messages with the catalogue.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # a fuzzy header would drop Plural-Forms from the compiled catalogue
        catalog.creation_date = kept
        catalog.revision_date = kept
        catalog.header_comment = _HEADER.format(lang=lang)
        if lang == "en":
            for msg in catalog:
                if msg.id and not any(_texts(msg.string)):
                    msg.string = msg.id
        with path.open("wb") as fh:
            write_po(fh, catalog, width=99, no_location=True, omit_header=False)
