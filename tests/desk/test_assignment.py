"""The channel assignment (bot/desk/assignment.py): limits, moves on failure only, stability."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.desk.assignment import AccountView, Move, assign, health
from storage.models import AccountLease, Assignment

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def ch(
    sid: int, account: str | None = None, *, pinned: bool = False, refused: str = ""
) -> Assignment:
    return Assignment(
        source_id=sid,
        username=f"c{sid}",
        account=account,
        pinned=pinned,
        reader=account,
        refused=frozenset(x for x in refused.split(",") if x),
    )


def acc(name: str, limit: int = 500, state: str = "live") -> AccountView:
    return AccountView(name, limit, state)  # type: ignore[arg-type]


def apply(channels: list[Assignment], moves: list[Move]) -> dict[int, str | None]:
    out = {c.source_id: c.account for c in channels}
    out.update({m.source_id: m.account for m in moves})
    return out


def test_new_channels_are_balanced_by_room_under_each_limit() -> None:
    channels = [ch(i) for i in range(1, 301)]
    placed = apply(channels, assign(channels, [acc("alpha", 100), acc("beta", 1000)]))
    counts = Counter(placed.values())
    assert counts["alpha"] <= 100
    assert counts["alpha"] + counts["beta"] == 300
    # beta (Premium, 1,000) has the most room throughout: it takes them all
    assert counts == {"beta": 300}


def test_equal_accounts_share_new_channels_evenly() -> None:
    channels = [ch(i) for i in range(1, 201)]
    placed = apply(channels, assign(channels, [acc("alpha"), acc("beta")]))
    assert Counter(placed.values()) == {"alpha": 100, "beta": 100}


def test_no_account_takes_more_than_its_limit_and_the_rest_waits() -> None:
    channels = [ch(i) for i in range(1, 8)]
    moves = assign(channels, [acc("alpha", 2), acc("beta", 3)])
    placed = apply(channels, moves)
    assert Counter(placed.values()) == {"alpha": 2, "beta": 3, None: 2}
    # a channel with nowhere to go and no account before is no move at all
    assert len(moves) == 5


def test_healthy_accounts_keep_their_channels_however_unbalanced() -> None:
    channels = [ch(i, "alpha") for i in range(1, 51)] + [ch(51)]
    moves = assign(channels, [acc("alpha"), acc("beta")])
    assert moves == [Move(51, "beta", None, "not assigned")]


def test_running_again_moves_nothing() -> None:
    channels = [ch(i) for i in range(1, 101)]
    accounts = [acc("alpha", 60), acc("beta", 60), acc("gamma", 10)]
    placed = apply(channels, assign(channels, accounts))
    settled = [ch(sid, account) for sid, account in placed.items()]
    assert assign(settled, accounts) == []


def test_a_failed_or_expired_account_loses_every_channel_to_the_others() -> None:
    channels = [ch(i, "alpha") for i in range(1, 11)] + [ch(i, "beta") for i in range(11, 21)]
    for state in ("down", "failed"):
        moves = assign(channels, [acc("alpha", state=state), acc("beta"), acc("gamma")])
        assert {m.source_id for m in moves} == set(range(1, 11))
        assert all(m.was == "alpha" and m.why == f"account alpha is {state}" for m in moves)
        # gamma had the most room: it takes them until beta's load matches
        assert Counter(m.account for m in moves) == {"gamma": 10}


def test_a_starting_account_gets_channels_and_keeps_them() -> None:
    channels = [ch(i) for i in range(1, 5)]
    placed = apply(channels, assign(channels, [acc("alpha"), acc("beta", state="starting")]))
    assert Counter(placed.values()) == {"alpha": 2, "beta": 2}


def test_a_channel_an_account_cannot_read_goes_elsewhere_and_never_back() -> None:
    channels = [ch(1, "alpha", refused="alpha"), ch(2, refused="alpha,beta")]
    moves = assign(channels, [acc("alpha"), acc("beta")])
    assert moves == [
        Move(1, "beta", "alpha", "account alpha cannot read it"),
    ]
    # channel 2: refused by both, nowhere to go, no account before: no move


def test_pinned_channels_stay_even_on_a_failed_account_and_count_against_it() -> None:
    channels = [ch(1, "alpha", pinned=True), ch(2, "alpha", pinned=True), ch(3)]
    assert assign(channels, [acc("alpha", 3, state="failed"), acc("beta")]) == [
        Move(3, "beta", None, "not assigned")
    ]
    moves = assign(channels, [acc("alpha", 2), acc("beta", 1)])
    assert moves == [Move(3, "beta", None, "not assigned")]


def test_an_account_no_longer_configured_hands_its_channels_on() -> None:
    moves = assign([ch(1, "gone")], [acc("alpha")])
    assert moves == [Move(1, "alpha", "gone", "account gone is not configured")]


def test_with_no_usable_account_channels_are_unassigned_not_lost() -> None:
    moves = assign([ch(1, "alpha"), ch(2)], [acc("alpha", state="down")])
    assert moves == [Move(1, None, "alpha", "account alpha is down")]


def _lease(
    expires: datetime | None, *, failed: str | None = None, created: datetime = NOW
) -> AccountLease:
    return AccountLease("alpha", "pid 1 on h", None, None, expires, created, failed)


def test_health_from_the_lease() -> None:
    assert health(None, NOW, GRACE) == "starting"
    assert health(_lease(NOW + timedelta(seconds=5)), NOW, GRACE) == "live"
    assert health(_lease(NOW - timedelta(seconds=1)), NOW, GRACE) == "down"
    assert health(_lease(NOW + timedelta(seconds=5), failed="banned"), NOW, GRACE) == "failed"
    # never held: starting within the grace after it was first configured, then down
    assert health(_lease(None, created=NOW - timedelta(seconds=30)), NOW, GRACE) == "starting"
    assert health(_lease(None, created=NOW - timedelta(seconds=90)), NOW, GRACE) == "down"
