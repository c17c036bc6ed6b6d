"""Migration files: one number each. Two files with one number (two branches merged, each
taking "the next free number") break upgrades: a database at that version never gets the
other file, and nothing says so."""

from __future__ import annotations

from collections import Counter
from importlib import resources

from storage.db import _MIGRATION_RE, migrations


def test_every_migration_number_is_used_once() -> None:
    names = [e.name for e in resources.files("storage.migrations").iterdir()]
    numbers = Counter(int(m.group(1)) for n in names if (m := _MIGRATION_RE.match(n)))
    assert [n for n, c in numbers.items() if c > 1] == []
    found = [number for number, _, _ in migrations()]
    assert found == list(range(1, len(found) + 1))  # no gaps either


def test_every_postgres_migration_number_is_used_once() -> None:
    from storage.postgres.db import _MIGRATION_RE as PG_RE
    from storage.postgres.db import migrations as pg_migrations

    names = [e.name for e in resources.files("storage.postgres.migrations").iterdir()]
    numbers = Counter(int(m.group(1)) for n in names if (m := PG_RE.match(n)))
    assert [n for n, c in numbers.items() if c > 1] == []
    found = [number for number, _, _ in pg_migrations()]
    assert found == list(range(1, len(found) + 1))
