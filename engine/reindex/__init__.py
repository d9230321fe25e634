"""Nightly re-index: re-embed, rebuild the index, re-cluster globally, keep ids, swap.

Kept import-light (the CLI's read commands import the package); the runner is
`engine.reindex.runner.Reindex`.
"""

from engine.reindex.options import PHASES, Killed, ReindexOptions, StopHook

__all__ = ["PHASES", "Killed", "ReindexOptions", "StopHook"]
