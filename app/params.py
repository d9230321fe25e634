"""What assignment runs with: a model's calibrated thresholds with the settings' overrides.

The service (online) and the re-index (batch, possibly on a new model) both take
them from here, so the two always ask the same questions of a pair.
"""

from __future__ import annotations

from app.settings import Settings
from embeddings import thresholds_for
from embeddings.base import ModelIdentity
from embeddings.thresholds import Thresholds
from stories.assign import Params


def thresholds_in_force(identity: ModelIdentity, settings: Settings) -> Thresholds:
    return thresholds_for(identity).override(
        near_duplicate=settings.near_duplicate_threshold,
        report=settings.report_threshold,
        story=settings.story_threshold,
        margin_weight=settings.margin_weight,
        name_weight=settings.name_weight,
        same_language_penalty=settings.same_language_penalty,
        mutual_bonus=settings.mutual_bonus,
    )


def assignment_params(t: Thresholds, settings: Settings) -> Params:
    return Params(
        near_duplicate=t.near_duplicate,
        report=t.report,
        story=t.story,
        window_seconds=settings.window_days * 86400.0,
        margin_weight=t.margin_weight,
        background=t.background,
        name_weight=t.name_weight,
        same_language_penalty=t.same_language_penalty,
        mutual_bonus=t.mutual_bonus,
        rehome=settings.rehome_reports,
    )
