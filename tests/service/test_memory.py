"""What `wirewatch run` does for its memory: the word caches sized by the setting."""

from __future__ import annotations

from pathlib import Path

from bot.matching import cache
from bot.service.app import App
from bot.settings import Settings


async def test_the_service_sizes_the_word_caches_from_the_setting(tmp_path: Path) -> None:
    app = App(Settings(db=tmp_path / "w.db", health_port=0, word_cache_mb=5))
    try:
        await app.start()
        assert 5 * 1024 * 1024 - len(cache._CACHES) <= cache.budget() <= 5 * 1024 * 1024
    finally:
        await app.shutdown()
    # Back to the defaults for whatever the process does next (other tests here).
    assert all(c.max_bytes == c.default_bytes for c in cache._CACHES)
