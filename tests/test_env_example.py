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
