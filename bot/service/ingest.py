"""The ingest side of the composition root: the pipeline and its drafter, from settings."""

from __future__ import annotations

from collections.abc import Callable

from bot.desk.glossary_file import GlossaryWatch
from bot.ingest.capture import Capture
from bot.ingest.drafter import Drafter
from bot.ingest.pipeline import Pipeline
from bot.settings import Settings
from storage.store import Store


def build_pipeline(
    store: Store,
    settings: Settings,
    capture: Capture | None,
    on_drafted: Callable[[], None],
) -> Pipeline:
    """Drafts are written by the drafter's own task after each post's commit
    (bot/ingest/drafter.py, `Drafter.serve`): the listener stores the next post meanwhile, and
    a written draft wakes the notifier (`on_drafted`)."""
    glossary = GlossaryWatch(settings.drafts.glossary)
    drafter = Drafter(
        store,
        style=settings.drafts.house_style(),
        background=settings.drafts.background,
        glossary=glossary,
        on_drafted=on_drafted,
    )
    return Pipeline(
        store,
        capture=capture,
        on_enqueue=drafter.wake,
        thread_window=settings.drafts.thread_window,
        glossary=glossary,
        drafter=drafter,
        defer_drafts=True,
    )
