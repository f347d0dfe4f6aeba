"""berth.api: Kubernetes API objects as plain JSON dicts, and everything pure about them.

Submodules (no I/O anywhere in this package):

- ``resources``: the registry of served kinds (``Resource``, ``RESOURCES``, lookups)
- ``schema``: field types of every kind (generated data, loaded on first use)
- ``decode``: strict JSON/YAML decoding and unknown-field detection
- ``defaults``: Kubernetes' defaulting; ``validation``: Kubernetes' validation
- ``errors``: ``FieldError`` and the ``APIError`` tree (``Status`` objects)
- ``selectors``: label and field selectors; ``quantity``: resource quantities
- ``meta``: metadata helpers (uids, timestamps, keys)

Only the cheap, universally needed names are re-exported here.
"""

from berth.api.errors import APIError, FieldError
from berth.api.resources import RESOURCES, Obj, Resource

__all__ = ["RESOURCES", "APIError", "FieldError", "Obj", "Resource"]
