"""Fixtures and fakes shared by berth's tests.

`berth.testing.etcd` starts real etcd processes on loopback ports (one member
or a cluster) in a temporary directory and stops exactly the processes it
started. Other engineers add their fakes (runtime, netlink) beside it.
"""
