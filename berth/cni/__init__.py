"""berth.cni: the Container Network Interface, by the spec, in both directions.

- ``spec``: versions and result types, with conversion between 0.3.x/0.4.0/1.0.0/1.1.0;
- ``errors``: the spec's error codes as an exception tree;
- ``conf``: the network configuration a plugin reads from stdin;
- ``skel``: the plugin side of the protocol (env + stdin -> result JSON or error JSON);
- ``invoke``: the runtime side of one plugin call (exec, env, stdin, timeout);
- ``client``/``cache``: the libcni role - conf dirs, chains, result cache, GC;
- ``confdir``: .conf/.conflist files of a conf dir;
- ``plugins``: berth's plugins (bridge, host-local, loopback, portmap) as executables.
"""
