"""A controller loop ends when cancelled, even in the instant after it was poked.

Regression test for the hang of `ControllerManager.stop` (and with it of
`RunningServer.stop`, seen in the allocator restart test under load): on
Python 3.11, ``asyncio.wait_for`` returns the inner result instead of raising
when the cancel arrives while its inner wait has just finished, so a loop
cancelled within a couple of event-loop turns after a watch event poked it
went on running and its manager waited for it forever.
"""

from __future__ import annotations

import asyncio

import pytest

from berth.controllers.loop import Loop


@pytest.mark.parametrize("turns", range(6))
async def test_cancel_right_after_a_poke_ends_the_loop(turns: int) -> None:
    passes = asyncio.Event()

    async def reconcile() -> None:
        passes.set()

    loop = Loop("test", reconcile, [], resync=30.0, debounce=0.0)
    task = asyncio.create_task(loop.run())
    await passes.wait()
    for _ in range(5):  # back in the wait for the next poke
        await asyncio.sleep(0)
    loop.poke()  # as a watch event does
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()  # as ControllerManager.stop does
    done, _ = await asyncio.wait({task}, timeout=2.0)
    if not done:  # the cancel was swallowed: end the task before failing
        task.cancel()
        await asyncio.wait({task}, timeout=2.0)
    assert done, f"the loop ignored a cancel {turns} turns after a poke"
    assert task.cancelled()
