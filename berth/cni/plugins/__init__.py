"""berth's CNI plugins, each an executable (console script) and an in-process ``Plugin``.

``host_local`` (with the pure ``allocator`` and the ``ipam_store`` disk store)
never touches netlink; ``loopback`` and ``bridge`` (planning in ``bridge_conf``,
IPAM delegation in ``ipam``, ipMasq in ``masq``) import ``berth.host.netlink``
(and so pyroute2) only inside the code paths that need it, so VERSION, errors
and IPAM stay fast when exec'd; ``portmap`` (rules in ``portmap_plan``) only
runs ``nft``.
"""
