"""The end-to-end bot suite runs once per language: a test that takes `lang` runs its desk in
uk, en and ru with the same assertions on behaviour (texts looked up in the catalogues)."""

from __future__ import annotations

import pytest

from bot.i18n import LANGS


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)
