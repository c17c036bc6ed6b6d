"""What the desk commands (`people`, `sources`, `rules`) share: Desk refusals as usage errors,
and the same output either as JSON or as lines for a person. No `register`: not a command."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from bot.cli import UsageError
from bot.desk import DeskError
from bot.runtime import print_json

T = TypeVar("T")


@contextmanager
def desk_usage() -> Iterator[None]:
    """A DeskError's message is written for the person who typed the command: exit 2 with it."""
    try:
        yield
    except DeskError as exc:
        raise UsageError(str(exc)) from exc


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
