"""PostgreSQL as a second back end behind the same repositories.

The SQLite repositories' SQL is plain enough to run here unchanged once `?` marks become `$n`
and the few SQLite spellings are translated (`db.py`); what cannot be translated (FTS5, two-
argument MAX) is overridden in `repos.py`. `Store.open` picks this back end for a
`postgresql://` URL. This module itself imports no driver: asyncpg loads only when a
PostgreSQL store is opened.
"""

from __future__ import annotations

import re

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)
