"""The `wirewatch` command line. Each module listed in `COMMANDS` registers its own subcommands;
a new command is a module in `bot/cli/` and one line here.

Exit codes: 0 success, 1 a run-time failure, 2 bad input (a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.cli import (
    accounts,
    archive,
    demo,
    doctor,
    draft,
    evidence,
    glossary,
    login,
    match,
    migrate_db,
    ops,
    people,
    reindex,
    rules,
    run,
    sources,
)
from bot.cli.common import UsageError, common_parent, env_file_fault, terminal_text
from bot.settings import Settings
from storage.db import StorageError
from storage.records import SourceError

log = logging.getLogger("wirewatch")

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


COMMANDS = (
    accounts,
    archive,
    demo,
    doctor,
    draft,
    evidence,
    glossary,
    login,
    match,
    migrate_db,
    ops,
    people,
    reindex,
    rules,
    run,
    sources,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="Watch officials' Telegram channels; store, match, draft and alert.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    # Also before the command (`wirewatch --db x.db search ...`); after it, the command's own
    # --db wins.
    parser.add_argument(
        "--db", dest="global_db", metavar="PATH", help="database file or postgresql:// URL"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = common_parent()
    for module in COMMANDS:
        module.register(sub, parent)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line read, with `--db` given before the command (`wirewatch --db x.db demo`)
    as the command's own when it has none after it: a command that reads `args.db` itself
    (demo: a temporary database unless one is named) ignored the one before."""
    args = build_parser().parse_args(archive.search_argv(argv))
    if getattr(args, "db", None) is None and args.global_db is not None:
        args.db = args.global_db
    return args


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment and `.env`; anything wrong with them is one line for
    the person who wrote them (exit 2), never a traceback."""
    env_file = Settings.model_config.get("env_file")
    try:
        fault = env_file_fault(Path(str(env_file))) if env_file else None
        if fault is not None:
            raise UsageError(fault)
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        # As the operator wrote it (WIREWATCH_TELEGRAM__API_ID), not pydantic's path
        # (telegram.api_id). The value is not repeated: it may be a secret.
        where = "__".join(str(x).upper() for x in first["loc"])
        name = f"WIREWATCH_{where}" if where else "the settings"
        raise UsageError(f"bad setting {name}: {first['msg']}") from exc
    except SettingsError as exc:
        raise UsageError(_settings_error(exc)) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the settings file {env_file} is not valid UTF-8 text (byte "
            f"0x{exc.object[exc.start]:02x} at offset {exc.start}): save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"cannot read the settings file {exc.filename or env_file}: {exc.strerror or exc}"
        ) from exc
    db = getattr(args, "db", None) or getattr(args, "global_db", None)
    if db:
        settings = settings.model_copy(update={"db": db})
    return settings


_FIELD_RE = re.compile(r'field "(?P<field>\w+)" from source "(?P<source>\w+)"')


def _settings_error(exc: SettingsError) -> str:
    """pydantic-settings says which field and source failed; the JSON error is its cause."""
    m = _FIELD_RE.search(str(exc))
    if m is None:
        return f"bad settings: {exc}"
    name = f"WIREWATCH_{m['field'].upper()}"
    where = " in .env" if m["source"].startswith("DotEnv") else ""
    cause = exc.__cause__
    why = f": not valid JSON ({cause})" if isinstance(cause, ValueError) else ""
    return f"bad setting {name}{where}{why}"


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is written for the person who typed the command: one line, exit 2.
    Imported here, not at the top: the desk and matching modules are not needed by `--help`."""
    from bot.desk.inputs import DeskError
    from bot.desk.search import QueryError
    from bot.matching import RuleSyntaxError

    return (UsageError, SourceError, StorageError, DeskError, QueryError, RuleSyntaxError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for n, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # Python keeps undecodable argv bytes as lone surrogates; stored, they would fail
            # deep in the database with a traceback.
            print(
                f"wirewatch: argument {n} is not valid UTF-8 text (check the terminal's encoding)",
                file=sys.stderr,
            )
            return 2
    args = parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        build_parser().print_help()
        return 2
    try:
        settings = load_settings(args)
        return asyncio.run(func(args, settings))
    except _user_errors() as exc:
        # The reason may quote the file or the database (an export's bad date, a title).
        print(f"wirewatch: {terminal_text(str(exc))}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        # The database refused a write or a read that is not the person's input: a full disk,
        # an I/O error. SQLite rolled the transaction back; what committed before is kept.
        log.debug("database error", exc_info=True)
        print(
            f"wirewatch: the database failed: {exc} (is the disk full, or the file not "
            "writable?); what was stored before is kept: run the command again once there is "
            "room",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `wirewatch search ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return 0
    except OSError as exc:
        # A file or folder the person named that cannot be read or written: their input, so
        # one line and exit 2 (exit 1 means a run-time failure, for `evidence` a failed check).
        log.debug("file error", exc_info=True)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"wirewatch: {terminal_text(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
