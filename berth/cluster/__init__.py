"""berth.cluster: the one-machine cluster behind ``berth up``/``down``/``status``.

``topology`` describes the namespaces, bridge and veths (pure plan) and
builds/removes them; ``state`` is the record of what was made
($BERTH_HOME/cluster.json); ``up``/``down`` start and stop the processes;
``serve`` is the API server process of a cluster; ``probe`` checks
connectivity between berth's namespaces; ``graph`` draws the live network.
"""
