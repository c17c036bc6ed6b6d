"""The sources file (`telegram.sources_file`), applied when the service starts."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.desk.sources_file import SourceSpec, apply_sources, load_sources_file
from storage.records import FORMER_NAME, SourceError
from storage.store import Store

if TYPE_CHECKING:
    from bot.service.app import App

log = logging.getLogger(__name__)


async def apply_sources_file(app: App, path: Path) -> None:
    """Add or update the file's channels. A file that does not parse, or names an account that
    is not configured, is not applied: the channels already in the database keep working and
    the operator sees why in /healthz and the log."""
    assert app.store is not None
    try:
        specs = load_sources_file(path)
    except SourceError as exc:
        app.problems.append(f"sources file not applied: {exc}")
        return
    names = app.settings.account_names()
    unknown = sorted({s.account for s in specs if s.account and s.account not in names})
    if unknown:
        app.problems.append(
            f"sources file not applied: account {', '.join(unknown)} is not configured "
            f"(configured: {', '.join(names)})"
        )
        return
    specs = [await _current_name(app.store, spec, path) for spec in specs]
    await apply_sources(app.store, specs)
    log.info("sources file %s: %d channels", path, len(specs))


async def _current_name(store: Store, spec: SourceSpec, path: Path) -> SourceSpec:
    """The file's entry under the name its channel has now. A channel the listener saw renamed
    on Telegram is followed under its new name; a file still listing the old one applied its
    attribution to a new source of that name (which then opened nobody, or a stranger)."""
    former = await store.state.get(f"{FORMER_NAME}{spec.username}")
    if former is None:
        return spec
    src = await store.sources.by_peer(int(former[0]))
    if src is None or src.username == spec.username:
        return spec
    log.warning(
        "sources file %s lists @%s, which Telegram renamed @%s: applied to @%s; write the new "
        "name in the file",
        path,
        spec.username,
        src.username,
        src.username,
    )
    return replace(spec, username=src.username)
