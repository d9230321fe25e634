"""Each model carries the thresholds it was calibrated with.

Cosine scales differ a lot between models (USE puts unrelated news near 0.2,
e5 near 0.7), so a threshold only means something next to the model that made
it. Calibration results live in calibration.json beside this file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from importlib.resources import files

from embeddings.base import ModelIdentity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    near_duplicate: float  # cosine at or above which a same-language snippet is a near copy
    report: float  # report-level score at or above which a snippet joins a report
    story: float  # story-level score at or above which a snippet joins a story
    calibrated_on: str = "uncalibrated"

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)

    def override(
        self,
        near_duplicate: float | None = None,
        report: float | None = None,
        story: float | None = None,
    ) -> Thresholds:
        changes = {
            k: v
            for k, v in {"near_duplicate": near_duplicate, "report": report, "story": story}.items()
            if v is not None
        }
        if not changes:
            return self
        return replace(
            self, calibrated_on=f"{self.calibrated_on}; overridden by settings", **changes
        )


# Used for a model nobody calibrated: loose enough to group paraphrases of
# typical sentence encoders, and a warning tells the user to calibrate.
FALLBACK = Thresholds(near_duplicate=0.96, report=0.80, story=0.55)


def _table() -> dict[str, dict[str, float | str]]:
    text = files("embeddings").joinpath("calibration.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, float | str]] = json.loads(text)
    return data


def thresholds_for(identity: ModelIdentity) -> Thresholds:
    entry = _table().get(identity.name)
    if entry is None:
        log.warning(
            "model %s has no calibrated thresholds; using fallback %s. Calibrate it and set "
            "STORYLINE_REPORT_THRESHOLD / STORYLINE_STORY_THRESHOLD.",
            identity.name,
            FALLBACK,
        )
        return FALLBACK
    return Thresholds(
        near_duplicate=float(entry["near_duplicate"]),
        report=float(entry["report"]),
        story=float(entry["story"]),
        calibrated_on=str(entry.get("calibrated_on", "")),
    )
