"""An exact copy joins its original where the batch has left it, not where storage last had
it: a concurrent writer batch must decide as the same items one at a time would."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from engine.batch import BatchState
from engine.candidates import Gatherer
from engine.feature_cache import FeatureCache
from storage.base import WriterSession
from storage.records import ReportState
from stories.params import Params


class _Session:
    """What `Gatherer.copies` reads: the stored rows with a content hash."""

    def by_hash(self, content_hash: str) -> list[Any]:
        return [SimpleNamespace(id=7, report_id=70, story_id=700, published_at=0.0)]


def _gatherer() -> Gatherer:
    params = Params(near_duplicate=0.93, report=0.65, story=0.5)
    return Gatherer(cast(WriterSession, _Session()), FeatureCache(), params)


def test_a_stored_original_moved_earlier_in_the_batch_is_found_in_its_new_report() -> None:
    batch = BatchState()
    assert [(c.report_id, c.story_id) for c in _gatherer().copies("h", batch)] == [(70, 700)]
    # re-homing (or taking back) moved it out of report 70 earlier in this batch
    batch.stored_place[7] = (70, 700)
    batch.stored_members[70] = [7]
    batch.move_stored(7, 70, ReportState(71, 700, 0.0, 0))
    assert [(c.report_id, c.story_id) for c in _gatherer().copies("h", batch)] == [(71, 700)]


def test_a_stored_original_whose_story_merged_earlier_in_the_batch_names_the_survivor() -> None:
    batch = BatchState()
    batch.retire(700, 500)
    assert [(c.report_id, c.story_id) for c in _gatherer().copies("h", batch)] == [(70, 500)]
