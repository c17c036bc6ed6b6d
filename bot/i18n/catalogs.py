"""Keeping the catalogues whole: extract the messages from the code, merge them into each
language's `.po`, and check that every language has every message.

    python -m bot.i18n update   # after adding or changing a message in the code
    python -m bot.i18n check    # in `make lint`: exit 1 on a message missing in any language
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import string
from collections.abc import Iterable, Iterator
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
    # Notes the listener stores for /status and /sources (storage.records.person_note).
    ("sources/telegram/listener.py", "python"),
    ("sources/telegram/link.py", "python"),
    ("sources/telegram/notes.py", "python"),
    ("sources/telegram/reconcile.py", "python"),
    ("sources/telegram/pacing.py", "python"),
    # Why Telegram did not translate a quote: said in the reply the journalist reads.
    ("sources/telegram/translate.py", "python"),
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


def _key(msgid: str | tuple[str, ...] | list[str], context: str | None) -> str:
    """How a problem names a message: its (singular) id, and its context when it has one."""
    text = msgid if isinstance(msgid, str) else msgid[0]
    return f"{text} [{context}]" if context else text


def problems(template: Catalog, lang: str, catalog: Catalog) -> Iterable[str]:
    """What is wrong with one language's catalogue against the code's messages."""
    wanted = {(m.id, m.context) for m in template if m.id}
    for msg in template:
        if not msg.id:
            continue
        key = _key(msg.id, msg.context)
        have = catalog.get(msg.id, msg.context)
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
        if have.id and (have.id, have.context) not in wanted:
            key = _key(have.id, have.context)
            yield f"{lang}: {key!r} is no longer used by the code (run python -m bot.i18n update)"


def _sources(root: Path) -> Iterator[Path]:
    """The files Babel extracts from, by the same rules (the first pattern that fits wins)."""
    seen: set[Path] = set()
    for pattern, method in _METHODS:
        for path in sorted(root.glob(pattern.replace("**.py", "**/*.py"))):
            if path not in seen:
                seen.add(path)
                if method == "python":
                    yield path


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def unextracted(template: Catalog, root: Path = ROOT) -> Iterator[str]:
    """Calls Babel did not see: a `gettext("…")` inside an f-string's braces is not extracted
    on Python 3.11, so it would be answered in English whatever the reader's language."""
    for path in _sources(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            args = [_literal(a) for a in node.args]
            msgid: str | tuple[str, str] | None = None
            context: str | None = None
            if name in ("gettext", "N_", *ERROR_KEYWORDS) and args:
                msgid = args[0]
            elif name == "ngettext" and len(args) >= 2 and args[0] and args[1]:
                msgid = (args[0], args[1])
            elif name == "pgettext" and len(args) >= 2:
                context, msgid = args[0], args[1]
            if msgid and template.get(msgid, context) is None:
                where = f"{path.relative_to(root)}:{node.lineno}"
                key = _key(msgid, context)
                yield f"{where}: {key!r} is not extracted (a message inside an f-string?)"


def check() -> list[str]:
    template, warnings = extract_with_warnings()
    out: list[str] = list(warnings)
    out.extend(unextracted(template))
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
