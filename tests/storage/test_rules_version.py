"""The rules' version, read with every stored post to know whether the matcher is stale: it
changes with every change to a rule, and reading it does not scan the rules (it was an
aggregate over them, ~1 ms a post at 10,000 rules)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.rules import RULES_VERSION
from storage.store import Store


async def test_every_change_to_a_rule_changes_the_version(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        seen = [await store.rules.version()]

        async def changed() -> None:
            seen.append(await store.rules.version())
            assert seen[-1] != seen[-2], seen

        rule = await store.rules.add("мобілізація", rule_to_json(parse_rule("мобілізація")))
        await changed()
        await store.rules.add("демобілізація", rule_to_json(parse_rule("демобілізація")))
        await changed()
        # An edit in place (an operator's SQL, a future command) counts as much as an addition.
        await store.db.execute("UPDATE rules SET priority = 5 WHERE id = ?", (rule.id,))
        await changed()
        assert await store.rules.remove(rule.id)
        await changed()
        await store.db.execute("DELETE FROM rules WHERE id = ?", (rule.id,))
        await changed()
        assert len(set(seen)) == len(seen)
    finally:
        await store.close()


async def test_a_rule_edited_in_place_reaches_the_matcher(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        await store.people.add(role="journalist", user_id=71)
        rule = await store.rules.add("тривога", rule_to_json(parse_rule("тривога")))
        pipe = Pipeline(store)
        when = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
        first = await pipe.handle(Post("air_force", 1, when, "Повітряна тривога в області."))
        assert first.alerts == 1
        await store.db.execute(
            "UPDATE rules SET query = ?, compiled = ? WHERE id = ?",
            ("відбій", json.dumps(rule_to_json(parse_rule("відбій"))), rule.id),
        )
        assert (await pipe.handle(Post("air_force", 2, when, "Знову тривога."))).alerts == 0
        assert (await pipe.handle(Post("air_force", 3, when, "Відбій тривоги."))).alerts == 1
    finally:
        await store.close()


async def test_reading_the_version_does_not_scan_the_rules(tmp_path: Path) -> None:
    await (await Store.open(tmp_path / "w.db")).close()  # migrated
    conn = sqlite3.connect(tmp_path / "w.db")
    try:
        plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + RULES_VERSION))
        assert "rules_version" in plan and "SCAN rules" not in plan, plan
    finally:
        conn.close()
