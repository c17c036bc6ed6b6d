""".env.example lists every setting: a setting added without it is one an operator never finds."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _env_names(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _env_names(ann, env + "__")
        elif typing.get_origin(ann) is dict:
            # Settings by name (accounts): each field once, under any example name.
            value = typing.get_args(ann)[1]
            yield from _env_names(value, env + "__*__")
        else:
            yield env


def test_every_setting_is_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"WIREWATCH_[A-Z0-9_]+", text))
    missing = [
        env
        for env in _env_names(Settings, "WIREWATCH_")
        if not any(re.fullmatch(re.escape(env).replace(r"\*", "[A-Z0-9]+"), n) for n in listed)
    ]
    assert missing == []


def _setting_patterns() -> list[re.Pattern[str]]:
    return [
        re.compile(re.escape(env).replace(r"\*", "[A-Z0-9]+"))
        for env in _env_names(Settings, "WIREWATCH_")
    ]


def test_every_key_in_env_example_is_a_setting() -> None:
    """The other way round: a key the code does not read (a typo, a setting since renamed) is
    one an operator sets and sees nothing happen."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = re.findall(r"^#? ?(WIREWATCH_[A-Z0-9_]+)=", text, flags=re.MULTILINE)
    assert keys
    patterns = _setting_patterns()
    unread = [k for k in keys if not any(p.fullmatch(k) for p in patterns)]
    assert unread == []


def test_every_key_in_env_example_is_explained() -> None:
    """Each key (or group of keys) comes after a comment saying what it is."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    bare = []
    for n, line in enumerate(lines):
        if not re.match(r"#? ?WIREWATCH_", line):
            continue
        above = n - 1
        while above >= 0 and re.match(r"#? ?WIREWATCH_", lines[above]):
            above -= 1
        if above < 0 or not lines[above].startswith("# "):
            bare.append(line)
    assert bare == []


def test_every_setting_the_code_reads_is_a_declared_setting() -> None:
    """Settings are read through `Settings` only: a WIREWATCH_ variable read straight from the
    environment elsewhere would be missing from .env.example and from `doctor`."""
    tests_only = {"WIREWATCH_CRASH_SEED", "WIREWATCH_CRASH_FULL", "WIREWATCH_CRASH_POSTS"}
    tests_only |= {"WIREWATCH_CRASH_CHANNELS", "WIREWATCH_CRASH_KILLS"}
    patterns = _setting_patterns()
    stray = []
    for folder in ("bot", "sources", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in re.findall(
                r"environ(?:\.get)?\(?\[?[\"'](WIREWATCH_[A-Z0-9_]+)",
                path.read_text(encoding="utf-8"),
            ):
                if name not in tests_only and not any(p.fullmatch(name) for p in patterns):
                    stray.append(f"{path.relative_to(ROOT)}: {name}")
    assert stray == []
