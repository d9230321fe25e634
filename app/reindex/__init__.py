"""Nightly re-index: re-embed, rebuild the index, re-cluster globally, keep ids, swap.

Kept import-light (the CLI's read commands import the package); the runner is
`app.reindex.runner.Reindex`.
"""

from app.reindex.options import PHASES, Killed, ReindexOptions, StopHook

__all__ = ["PHASES", "Killed", "ReindexOptions", "StopHook"]
