"""Fixtures and fakes shared by berth's tests.

`berth.testing.etcd` starts real etcd processes on loopback ports (one member
or a cluster) in a temporary directory and stops exactly the processes it
started; `containerd` and `podman` drive those runtimes for comparisons.
`berth.testing.fakes` holds a fake of every protocol (Store, RuntimeService,
ImageService, Netlink), each held to the real one by tests/contract, and
`FakeNode` (pod workers on fakes); `looptime` runs an event loop in
simulated time so timing rules are tested without waiting.
"""
