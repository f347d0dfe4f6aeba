"""berth.cli: the ``berth`` command (entry point ``berth.cli.main:main``).

One module per verb group (``server``, ``apply``, ``get``, ``describe``,
``delete``), sharing ``common`` (kubeconfig, client, kinds), ``manifests``
(reading ``-f``), ``output`` (kubectl's wording of errors, JSON/YAML) and
``describe_text`` (the describe layout).
"""
