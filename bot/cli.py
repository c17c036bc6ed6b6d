"""The `wirewatch` command line. Each module in `bot/commands/` registers its own subcommands, so
features add commands without touching this file.

Exit codes: 0 success, 1 a run-time failure, 2 bad input (a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pydantic import ValidationError

import bot.commands
from bot.settings import Settings
from sources.post import SourceError
from storage.db import StorageError

log = logging.getLogger("wirewatch")

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


class UsageError(Exception):
    """Bad input from the person at the terminal: printed as one line, exit code 2."""


def common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", metavar="PATH", help="database file (default: settings)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="Watch officials' Telegram channels; store, match, draft and alert.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = common_parent()
    for info in sorted(pkgutil.iter_modules(bot.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bot.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub, parent)
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise UsageError(f"bad setting {where}: {first['msg']}") from exc
    if getattr(args, "db", None):
        settings = settings.model_copy(update={"db": args.db})
    return settings


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is written for the person who typed the command: one line, exit 2.
    Imported here, not at the top, because the command modules (loaded first) import this one."""
    from bot.desk import DeskError
    from bot.matching import RuleSyntaxError
    from bot.search import QueryError

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
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings(args)
        return asyncio.run(func(args, settings))
    except _user_errors() as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `wirewatch search ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
