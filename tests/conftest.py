"""Shared fixtures. Tests never reach Telegram: the Bot API is a local fake, Telethon sees TL
objects we build."""

from __future__ import annotations

import os

# An operator's shell may carry WIREWATCH_* variables; tests start from the defaults.
for _key in [k for k in os.environ if k.startswith("WIREWATCH_")]:
    del os.environ[_key]
