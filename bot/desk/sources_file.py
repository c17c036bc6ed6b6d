"""The sources file: channels to follow and the attribution a draft needs (TOML).

```toml
[[source]]
username = "example_channel"     # or link = "https://t.me/example_channel"
gender = "m"                     # m | f | n | pl (grammatical gender and number), optional
reconcile_every = 300            # optional, seconds
person = { uk = "...", en = "...", ru = "..." }
role = { uk = "...", en = "...", ru = "..." }
short_role = { uk = "...", en = "...", ru = "..." }   # second references, optional
account = "alpha"                # the listener account that reads it (several accounts), optional
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.models import GENDERS, LANGS, Source
from storage.records import SourceError, normalize_username
from storage.store import Store


@dataclass(frozen=True, slots=True)
class SourceSpec:
    username: str
    person: dict[str, str] = field(default_factory=dict)
    role: dict[str, str] = field(default_factory=dict)
    gender: str | None = None
    reconcile_every: int | None = None
    short_role: dict[str, str] = field(default_factory=dict)
    account: str | None = None  # pinned to this listener account

    def attribution(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for lang in LANGS:
            out[f"person_{lang}"] = self.person.get(lang)
            out[f"role_{lang}"] = self.role.get(lang)
            out[f"short_role_{lang}"] = self.short_role.get(lang)
        return out


def _lang_map(value: Any, where: str, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        # One string: the same text for every language (a name written one way).
        return dict.fromkeys(LANGS, value)
    if not isinstance(value, dict):
        raise SourceError(f'{where}: \'{key}\' must be a table like {{ uk = "...", en = "..." }}')
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGS:
            raise SourceError(f"{where}: '{key}.{lang}' is not a language (uk, en, ru)")
        if not isinstance(text, str):
            raise SourceError(f"{where}: '{key}.{lang}' must be text")
        if text.strip():
            out[lang] = text.strip()
    return out


_KEYS = frozenset(
    {"username", "link", "gender", "reconcile_every", "person", "role", "short_role", "account"}
)


def parse_sources(text: str, *, name: str = "sources file") -> list[SourceSpec]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{name}: not valid TOML: {exc}") from exc
    # A misspelt table or key was silently ignored: a [[sources]] followed nothing, a `persn`
    # left the person out of every draft.
    stray = sorted(k for k in data if k != "source")
    if stray:
        raise SourceError(f"{name}: unknown table [[{stray[0]}]] (each channel is a [[source]])")
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise SourceError(f"{name}: expected [[source]] tables")
    specs: list[SourceSpec] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        where = f"{name}: source #{n}"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: expected a table")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise SourceError(
                f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
            )
        raw = entry.get("username") or entry.get("link")
        if not isinstance(raw, str):
            raise SourceError(f"{where}: needs 'username' or 'link'")
        try:
            username = normalize_username(raw)
        except SourceError as exc:
            raise SourceError(f"{where}: {exc}") from None
        if username in seen:
            raise SourceError(f"{where}: @{username} is listed twice")
        seen.add(username)
        gender = entry.get("gender")
        if gender is not None and gender not in GENDERS:
            raise SourceError(f'{where}: \'gender\' must be "m", "f", "n" or "pl"')
        every = entry.get("reconcile_every")
        if every is not None and (not isinstance(every, int) or every < 30):
            raise SourceError(f"{where}: 'reconcile_every' must be a number of seconds >= 30")
        account = entry.get("account")
        if account is not None and (
            not isinstance(account, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", account)
        ):
            raise SourceError(f"{where}: 'account' must be an account name like \"alpha\"")
        specs.append(
            SourceSpec(
                username=username,
                person=_lang_map(entry.get("person"), where, "person"),
                role=_lang_map(entry.get("role"), where, "role"),
                gender=gender,
                reconcile_every=every,
                short_role=_lang_map(entry.get("short_role"), where, "short_role"),
                account=account,
            )
        )
    return specs


def load_sources_file(path: str | Path) -> list[SourceSpec]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read sources file {p}: {exc}") from exc
    return parse_sources(text, name=p.name)


async def apply_sources(store: Store, specs: list[SourceSpec]) -> list[Source]:
    """Add or update every listed source (attribution included, and the account it is pinned
    to where the file names one); others are left alone."""
    out = []
    for spec in specs:
        src = await store.sources.upsert(
            spec.username,
            attribution=spec.attribution(),
            gender=spec.gender,
            reconcile_every=spec.reconcile_every,
        )
        if spec.account is not None:
            await store.accounts.assign(src.id, spec.account, pinned=True)
        out.append(src)
    return out
