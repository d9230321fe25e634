"""What a re-index is asked to do, and the test hook that kills it mid-way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PHASES = (
    "snapshot",
    "embed",
    "index",
    "knn",
    "cluster",
    "map",
    "compare",
    "save",
    "neighbours",
    "swap",
    "cleanup",
    "repair",
)


@dataclass(frozen=True)
class ReindexOptions:
    model: str | None = None  # model spec to move to; None: the service's own model
    window_days: float | None = None  # re-cluster stories seen within this many days; None: all
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.window_days is not None and not self.window_days > 0:
            raise ValueError(f"window must be a positive number of days, got {self.window_days}")
        if self.model is not None and not self.model.strip():
            raise ValueError("model must be a model name or path, not blank")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Killed(BaseException):  # noqa: N818 - it is what it simulates
    """Raised by the test hook: the job stops dead, as if the process were killed
    (no cleanup runs, the job stays marked running until the next start-up)."""


@dataclass(frozen=True)
class StopHook:
    """Test hook: stop after `phase` (or after `batches` re-embedding batches)."""

    phase: str | None = None
    batches: int | None = None

    def __post_init__(self) -> None:
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r}; expected one of {PHASES}")

    def after_phase(self, phase: str) -> None:
        if phase == self.phase:
            raise Killed(f"stopped by test hook after phase {phase}")

    def after_batch(self, done: int) -> None:
        if self.batches is not None and done >= self.batches:
            raise Killed(f"stopped by test hook after {done} re-embedding batches")
