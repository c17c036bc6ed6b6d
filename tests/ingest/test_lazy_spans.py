"""A post that matches many rules: the pipeline works out where a rule matched only for the
rule an alert is drafted for, and the alert keeps the same spans as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.ingest.pipeline import Pipeline
from bot.matching import match_rule, parse_rule, rule_to_json
from bot.matching import parts as matching_parts
from storage.records import Post
from storage.store import Store

TEXT = (
    "Сьогодні відбувся обмін полоненими: додому повернулися 84 захисники. "
    "Обмін готували місяцями, полонених чекали родини."
)
RULES = ["обмін", "полонені", '"обмін полоненими"', "захисники", "обмін полонені", "родина"]


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    yield s
    await s.close()


async def test_spans_are_worked_out_only_for_the_rule_the_alert_is_for(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    jo = await store.people.add(role="journalist", user_id=11)
    ids = {}
    for query in RULES:
        # The phrase rule has the highest priority: the desk's alert is drafted for it.
        priority = 5 if query.startswith('"') else 0
        rule = await store.rules.add(query, rule_to_json(parse_rule(query)), priority=priority)
        ids[rule.id] = query
    chosen = next(rid for rid, q in ids.items() if q.startswith('"'))
    pipe = Pipeline(store)
    await pipe.refresh_rules()
    entries: dict[int, Any] = {rid: e.part for rid, e in pipe._rules.matcher._rules.items()}
    worked_out: list[Any] = []
    real = matching_parts._spans_of

    def counting(part: Any, a: Any, channel: str) -> Any:
        worked_out.append(part)
        return real(part, a, channel)

    monkeypatch.setattr(matching_parts, "_spans_of", counting)
    res = await pipe.handle(
        Post(
            channel="sec_council", message_id=1, date=datetime(2025, 12, 3, tzinfo=UTC), text=TEXT
        )
    )
    assert res.alerts == 1
    assert len(pipe._rules.matcher.match(TEXT, "sec_council")) == len(RULES)  # all matched
    rules_spanned = {rid for rid, part in entries.items() if any(p is part for p in worked_out)}
    assert rules_spanned == {chosen}
    (alert,) = await store.alerts.for_person(jo.id)
    want = match_rule(parse_rule(ids[chosen]), TEXT, "sec_council")
    assert want is not None and alert.spans is not None
    assert [tuple(s) for s in alert.spans] == [
        (s.start, s.end, s.term) for s in sorted(set(want.spans), key=lambda s: (s.start, s.end))
    ]
    assert [TEXT[a:b] for a, b, _ in alert.spans] == ["обмін полоненими"]
