"""Shared fixtures. Tests never reach Telegram: the Bot API is a local fake, Telethon sees TL
objects we build."""

from __future__ import annotations

import os

# An operator's shell may carry WIREWATCH_* variables; tests start from the defaults. Variables
# that steer the tests themselves (not the service) are kept.
TEST_VARIABLES = frozenset({"WIREWATCH_CRASH_SEED"})
for _key in [k for k in os.environ if k.startswith("WIREWATCH_") and k not in TEST_VARIABLES]:
    del os.environ[_key]
