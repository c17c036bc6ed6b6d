"""What every command shares: the usage error, the `--db` option, opening the store, output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from wcwidth import clip, ljust, width

from bot.settings import Settings
from storage.access import holder, not_writer, process_name, unreachable
from storage.db import DatabaseDown, SchemaBehind, StorageError
from storage.postgres import is_postgres_url
from storage.records import SourceError
from storage.store import Store

T = TypeVar("T")


class UsageError(Exception):
    """Bad input from the person at the terminal: printed as one line, exit code 2."""


def verb_group(sub: Any, name: str, help_text: str) -> Any:
    """`wirewatch NAME VERB ...`: the subcommand that holds add/remove/list verbs."""
    parser = sub.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="verb", metavar="VERB", required=True)


def add_verb(
    verbs: Any,
    name: str,
    *,
    parent: argparse.ArgumentParser,
    help_text: str,
    func: Callable[..., Any],
) -> argparse.ArgumentParser:
    """One verb (`add`, `remove`, `list`, ...) with `--db` and `--json`; the caller adds its own
    arguments to the parser it returns."""
    parser: argparse.ArgumentParser = verbs.add_parser(name, parents=[parent], help=help_text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=func)
    return parser


def common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", metavar="PATH", help="database file (default: settings)")
    # wirewatch's own -v after the command too; SUPPRESS: unset, it leaves a -v given before
    # the command standing (a subcommand's default would overwrite it).
    parent.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    return parent


@asynccontextmanager
async def open_store(
    settings: Settings, *, must_exist: bool = False, read_only: bool = False
) -> AsyncIterator[Store]:
    """`must_exist`: a typo in --db should not create a new file. `read_only` (implies it):
    for commands that only read, which then never write, chmod or migrate the file and work
    for anyone who can read it (storage/access.py)."""
    if (
        (must_exist or read_only)
        and str(settings.db) != ":memory:"
        and not is_postgres_url(settings.db)
    ):
        path = Path(settings.db)
        why = unreachable(path)
        if why is not None:
            raise StorageError(why)
        if not path.exists():
            raise StorageError(f"no database at {settings.db} (import or run something first)")
    if not read_only:
        await _not_under_another_version(settings)
    try:
        store = await Store.open(settings.db, read_only=read_only)
    except DatabaseDown as exc:
        raise StorageError(
            f"{exc} (is the server running, and reachable from here? nothing was changed: "
            "run the command again once it is)"
        ) from exc
    except SchemaBehind as exc:
        if not_writer(Path(settings.db)) is not None:
            raise  # another account's: its owner's next write migrates it
        _refuse_if_held(settings, exc)
        # The first command after an upgrade, by the file's owner (or root): the schema is
        # brought up to date, as `run` would first, and is the one write of a command that
        # only reads.
        await (await Store.open(settings.db)).close()
        print(f"note: {settings.db}: brought up to this wirewatch's schema", file=sys.stderr)
        store = await Store.open(settings.db, read_only=True)
    try:
        yield store
    finally:
        await store.close()


def _sqlite_file(settings: Settings) -> Path | None:
    db = str(settings.db)
    return None if db == ":memory:" or is_postgres_url(db) else Path(db)


def _refuse_if_held(settings: Settings, behind: SchemaBehind) -> None:
    """A database of an older schema that another process has open (the service of the
    wirewatch before the upgrade, still running) is not migrated underneath it: that process
    would go on reading and writing tables its code does not know."""
    path = _sqlite_file(settings)
    pid = holder(path) if path is not None else None
    if pid is None:
        return
    raise StorageError(
        f"{path} has schema version {behind.have} and this wirewatch reads version "
        f"{behind.wants}, and {process_name(pid)} has it open (the service of the wirewatch "
        "before the upgrade?): this wirewatch "
        "would migrate it underneath that process, so it does not. Restart the service with "
        "this wirewatch (it migrates at start: on a server set up from deploy/, sudo "
        "systemctl restart wirewatch), or run this command with the wirewatch the service runs"
    )


async def _not_under_another_version(settings: Settings) -> None:
    """Before a command that writes opens (and so migrates) the database: the same rule. Only
    when another process holds the file is its schema looked at, read-only."""
    path = _sqlite_file(settings)
    if path is None or not path.is_file() or holder(path) is None:
        return
    try:
        await (await Store.open(path, read_only=True)).close()
    except SchemaBehind as exc:
        _refuse_if_held(settings, exc)
    except StorageError:
        pass  # unreadable here: the writable open below says why


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` things in English words: "1 rule", "2 rules", "1 person", "3 people"."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def sources_file_note(settings: Settings) -> str | None:
    """What the sources file will add when the service starts, for a listing that finds no
    source yet: the file is applied by `wirewatch run`, not by the commands that read."""
    path = settings.telegram.sources_file
    if path is None:
        return None
    from bot.desk.sources_file import load_sources_file

    try:
        specs = load_sources_file(path)
    except (SourceError, OSError):
        return None  # doctor says what is wrong with it
    if not specs:
        return None
    them = "it" if len(specs) == 1 else "them"
    return (
        f"the sources file {path} lists {counted(len(specs), 'channel')}: `wirewatch run` "
        f"adds {them} when it starts"
    )


def env_file_fault(path: Path) -> str | None:
    """Why the settings file at `path` cannot be read whole, or None. python-dotenv (what
    pydantic-settings reads it with) skips a line it cannot parse with a warning that names
    no file, so the setting on it silently kept its default (a bot token with an unclosed
    quote: a service without its bot). The value is never repeated: it may be a secret."""
    if not path.is_file():
        return None
    from dotenv.parser import parse_stream

    with path.open(encoding="utf-8") as stream:
        bad = [b.original for b in parse_stream(stream) if b.error]
    if not bad:
        return None
    first = bad[0]
    key = first.string.split("=", 1)[0].strip().removeprefix("export ").strip()
    named = f" ({key})" if "=" in first.string and key.isidentifier() else ""
    more = f" (and {counted(len(bad) - 1, 'more line')})" if len(bad) > 1 else ""
    return (
        f"the settings file {path} cannot be read at line {first.line}{named}{more}: a line is "
        "KEY=value or a # comment, a value with spaces or # goes in quotes, and a quote "
        "opened is closed; fix it and run the command again (nothing was done)"
    )


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def print_result(as_json: bool, data: Any, text: str) -> None:
    """One command's outcome: `data` for scripts (--json), else `text` for people."""
    if as_json:
        print_json(data)
    else:
        print(text)


def print_listing(
    items: Sequence[T],
    *,
    as_json: bool,
    to_json: Callable[[T], Any],
    to_line: Callable[[T], str],
    empty: str,
) -> None:
    """A `list` verb: a JSON array, or a line per item with a hint on how to add the first."""
    if as_json:
        print_json([to_json(x) for x in items])
        return
    if not items:
        print(empty)
    for x in items:
        print(to_line(x))


# Joiners hold an emoji sequence together and move nothing; every other invisible or control
# character is shown as its escape.
_HARMLESS = {"\u200c", "\u200d"}


def terminal_text(text: str, *, lines: bool = False) -> str:
    """Text from outside (a post, a Telegram name, a title, a rule typed in the bot) safe to
    print on a terminal: control and format characters (an escape sequence that clears the
    screen or sets the title, a bell, a carriage return that overwrites the line, a
    right-to-left override that turns the rest of the line around, a line break) written out
    as Python escapes (\\x1b, \\u202e), other spaces as a space. `lines`: text of several
    lines (a draft) keeps its line breaks (\\n) and only those.

    Every command's human-readable output of such text goes through here; `--json` output
    stays the data as stored (JSON escapes what it must)."""
    out: list[str] = []
    for ch in text:
        if ch.isprintable() or ch in _HARMLESS or (lines and ch == "\n"):
            out.append(ch)
        elif ch.isspace() and ch not in "\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029":
            out.append(" ")
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def columns(rows: Sequence[Sequence[str]], *, widest: int = 40) -> list[str]:
    """Rows of cells as lines of aligned columns, by the columns a terminal gives each
    character (wcwidth: a CJK character or an emoji takes two); a cell wider than `widest` is
    clipped with "…". The last column is neither clipped nor padded."""
    if not rows:
        return []

    def fit(cell: str) -> str:
        return cell if width(cell) <= widest else clip(cell, 0, widest - 1) + "…"

    clipped = [[*map(fit, row[:-1]), row[-1]] for row in rows]
    sizes = [max((width(row[k]) for row in clipped), default=0) for k in range(len(rows[0]))]
    return [
        "  ".join(ljust(c, sizes[k]) if k < len(row) - 1 else c for k, c in enumerate(row))
        for row in clipped
    ]
