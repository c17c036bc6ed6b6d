"""Logging for the service: every line says which component wrote it, optionally as JSON, and
secrets never reach the output.

Context comes from a context variable (`component`): each supervised task of `wirewatch run`
sets it once, and every record logged from that task (and the tasks it starts) carries it. The
redaction runs on the final formatted line, tracebacks included, because secrets leak through
exception texts more often than through our own messages (aiohttp quotes the request URL, which
holds the bot token).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from bot.settings import Settings

component: contextvars.ContextVar[str] = contextvars.ContextVar("component", default="main")

# A Bot API token anywhere in a line (URLs included), whether or not it is ours.
_TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,12}:[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted>"


class Redactor:
    """Replaces known secret values and anything shaped like a bot token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _TOKEN_RE.sub(REDACTED, text)


def secrets_of(settings: Settings) -> list[str]:
    out: list[str] = []
    if settings.bot.token is not None:
        out.append(settings.bot.token.get_secret_value())
    if settings.telegram.api_hash is not None:
        out.append(settings.telegram.api_hash.get_secret_value())
    return out


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "component"):
            record.component = component.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(component)s] %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald, Loki or anything that parses logs."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": getattr(record, "component", component.get()),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    settings: Settings, *, verbose: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root handlers with one that adds context, redacts and (optionally) writes
    JSON. Returns the handler so tests can inspect or remove it."""
    redact = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_ContextFilter())
    formatter: logging.Formatter = (
        JsonFormatter(redact) if settings.log_json else TextFormatter(redact)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.DEBUG if verbose else logging.getLevelName(settings.log_level.upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # Libraries are chatty at INFO (every getUpdates, every MTProto reconnect step).
    for name in ("aiogram.event", "telethon", "apscheduler.executors", "aiohttp.access"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    return handler
