"""Fakes of berth's protocols, each passing the same contract tests as the real thing.

- `store.MemoryStore`: the `berth.store.Store` in memory (tests/contract/store);
- `runtime.FakeRuntimeService`: the CRI-shaped `RuntimeService` with scripted
  containers (tests/contract/runtime);
- `images.FakeImageStore`: the node's `ImageService` (tests/contract/images);
- `netlink.FakeNetlink`: links, addresses and routes of in-memory namespaces
  (tests/contract/netlink);
- `client.RecordingClient`: the few API calls a node agent makes, recorded.

Time comes from `berth.testing.looptime` (an event loop in simulated time)
or from the clock a test hands in, so nothing here sleeps for real unless
the test runs on a real loop.
"""
