"""The drafter as the service runs it (bot/service/app.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.service.app import App
from bot.settings import Settings
from tests.fakebot import fakebot
from tests.service.support import provision

__all__ = ["fakebot"]

# A Ukrainian post for an English-reading journalist: a translation of the quote is owed.
TEXT = (
    "Енергосистема області працює стабільно: ремонтні бригади відновили живлення "
    "ще для дванадцяти громад після нічної атаки."
)


async def test_the_drafter_stops_with_the_service_instead_of_being_cancelled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The drafter waited for a wake-up or its 30 s poll and never looked at the stop signal:
    # every stop (SIGTERM) spent the whole shutdown budget waiting for it, then cancelled it,
    # possibly in the middle of writing drafts.
    db = tmp_path / "w.db"
    await provision(db)
    app = App(Settings(db=db, health_port=0), feeds=[])
    await app.start()
    async with asyncio.timeout(30):
        while not app.components["drafter"].up:  # noqa: ASYNC110 - the task starting
            await asyncio.sleep(0.01)
    caplog.set_level(logging.WARNING, logger="bot.service.app")
    await app.shutdown()
    assert not [r for r in caplog.records if "did not stop in time" in r.getMessage()]
