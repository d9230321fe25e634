"""The storyline service: HTTP API, CLI, settings and the wiring between packages."""

import os

__version__ = "0.1.0"

# Before anything loads FAISS (and its OpenMP runtime): see index/__init__.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
