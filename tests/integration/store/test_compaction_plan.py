"""The automatic compaction policy, with an injected clock."""

from __future__ import annotations

from berth.store.compaction import AutoCompactor, CompactionPolicy, plan_compaction

POLICY = CompactionPolicy(interval=60, retention=300, max_history=1000)


def test_nothing_is_compacted_before_the_retention_has_passed() -> None:
    target, keep = plan_compaction([(0, 10), (60, 20)], 120, 30, POLICY)
    assert target is None and keep == [(0, 10), (60, 20)]


def test_compacts_to_the_newest_revision_older_than_the_retention() -> None:
    samples = [(0, 10), (60, 20), (240, 40), (360, 60)]
    target, keep = plan_compaction(samples, 360, 60, POLICY)
    assert target == 20
    assert keep == [(240, 40), (360, 60)]


def test_too_much_history_is_compacted_early() -> None:
    target, _ = plan_compaction([(0, 10)], 30, 5000, POLICY)
    assert target == 4000


async def test_the_compactor_compacts_what_the_plan_says_and_only_forward() -> None:
    now = [0.0]
    revision = [100]
    compacted: list[int] = []

    async def current() -> int:
        return revision[0]

    async def compact(rev: int) -> None:
        compacted.append(rev)

    compactor = AutoCompactor(current, compact, POLICY, clock=lambda: now[0])
    assert await compactor.run_once() is None
    now[0], revision[0] = 200, 150
    assert await compactor.run_once() is None
    now[0], revision[0] = 320, 170
    assert await compactor.run_once() == 100
    now[0] = 330
    assert await compactor.run_once() is None  # no newer aged sample yet
    assert compacted == [100]
