"""The sources file (`telegram.sources_file`), applied when the service starts."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.delivery.notices import tell
from bot.desk.sources_file import SourceSpec, apply_sources, load_sources_file
from bot.i18n import Translator
from storage.models import Source
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


async def tell_renamed(
    store: Store, sources_file: Path | None, src: Source, new: str, followed: bool
) -> None:
    """The listener saw the followed channel `src` take the @username `new` on Telegram: the
    editors (and admins) get one short message in their language saying so, and naming the
    sources file entry that still uses the old name, if any. Once per channel and name,
    however often the listener sees it again or the service restarts."""
    old = src.username
    stale = _listed(sources_file, old)

    def text(tr: Translator) -> str:
        if followed:
            said = tr.gettext(
                "The channel @{old} is called @{new} on Telegram now: it is followed under the "
                "new name, with its archive and rules.",
                old=old,
                new=new,
            )
        else:
            said = tr.gettext(
                "The channel @{old} is called @{new} on Telegram now, but another source here "
                "already has the name @{new}: @{old} is still followed, and its links use the "
                "old name until one of the two is unwatched (/unwatch).",
                old=old,
                new=new,
            )
        if stale is not None:
            said += " " + tr.gettext(
                "The sources file {file} still lists @{old}: write @{new} there.",
                file=str(stale),
                old=old,
                new=new,
            )
        return said

    await tell(store, f"renamed:{src.peer_id or src.id}:{new}", text)


def _listed(sources_file: Path | None, username: str) -> Path | None:
    """The sources file, if it has an entry for `username` (one that does not parse says
    nothing here: the service's start says what is wrong with it)."""
    if sources_file is None:
        return None
    try:
        specs = load_sources_file(sources_file)
    except (SourceError, OSError):
        return None
    return sources_file if any(s.username == username for s in specs) else None
