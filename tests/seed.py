"""The seed's example Pod manifest (section 8), verbatim, from examples/seed-pod.yaml.

Tests read the one copy in the repository instead of each pasting the text.
"""

from __future__ import annotations

from pathlib import Path

SEED_MANIFEST = (Path(__file__).resolve().parents[1] / "examples" / "seed-pod.yaml").read_text()
