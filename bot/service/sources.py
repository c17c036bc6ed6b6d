"""The sources file (`telegram.sources_file`), applied when the service starts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.desk.sources_file import apply_sources, load_sources_file
from storage.records import SourceError

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
    await apply_sources(app.store, specs)
    log.info("sources file %s: %d channels", path, len(specs))
