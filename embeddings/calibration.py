"""Each model carries the values it was calibrated with.

Cosine scales differ a lot between models (USE puts unrelated news near 0.2, e5
near 0.7), so a threshold only means something next to the model that made it.
Calibration results live in calibration.json beside this file, under the model's
name; `stories.params.Params.calibrated` turns an entry into parameters.
"""

from __future__ import annotations

import json
import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

from embeddings.base import ModelIdentity

log = logging.getLogger(__name__)

CALIBRATION_FILE = Path(str(files("embeddings").joinpath("calibration.json")))


def calibration_table(path: Path = CALIBRATION_FILE) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def calibration_for(identity: ModelIdentity) -> dict[str, Any] | None:
    """The model's calibrated values (field name -> value), or None with a warning."""
    entry = calibration_table().get(identity.name)
    if entry is None:
        log.warning(
            "model %s has no calibrated thresholds; using the fallback ones. Calibrate it "
            "(storyline calibrate --write) or set STORYLINE_REPORT_THRESHOLD / "
            "STORYLINE_STORY_THRESHOLD.",
            identity.name,
        )
    return entry
