"""SQLite repository: one-transaction commits, reads, restart, rebuild source, corruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.errors import StorageCorruptError
from storage.records import BatchWrite, NewSnippet, ReportState, StoryState
from storage.sqlite import SQLiteRepository

DIM = 8


def snippet(
    i: int, report: int, story: int, lang: str = "en", ext: str | None = None, t: float = 1000.0
) -> NewSnippet:
    v = np.zeros(DIM, dtype=np.float32)
    v[i % DIM] = 1.0
    return NewSnippet(
        id=i,
        external_id=ext,
        title=f"title {i}",
        text=f"text {i}",
        lang=lang,
        lang_detected=False,
        source="s",
        url=None,
        published_at=t + i,
        received_at=t + i,
        content_hash=f"h{i}",
        report_id=report,
        story_id=story,
        status="created",
        vector=v,
        story_sim=0.5,
        knn_sims=np.zeros(0, dtype=np.float32),
        new_report=True,
        new_story=True,
    )


def story(sid: int, count: int, langs: dict[str, int], updated: float) -> StoryState:
    return StoryState(
        id=sid,
        first_seen=1000.0,
        last_seen=1000.0 + count,
        updated_at=updated,
        snippet_count=count,
        report_count=1,
        centroid_sum=np.ones(DIM, dtype=np.float32),
        title_snippet_id=None,
        title_sim=0.0,
        languages=langs,
    )


@pytest.fixture
def repo(tmp_path: Path) -> SQLiteRepository:
    return SQLiteRepository(tmp_path / "db.sqlite", DIM)


def seed(repo: SQLiteRepository) -> None:
    repo.writer.commit(
        BatchWrite(
            [snippet(1, 1, 1, ext="a"), snippet(2, 1, 1, "ru"), snippet(3, 2, 2, "es")],
            [story(1, 2, {"en": 1, "ru": 1}, 10.0), story(2, 1, {"es": 1}, 20.0)],
            [ReportState(1, 1, 1001.0, 2), ReportState(2, 2, 1003.0, 1)],
            "m@1",
        )
    )


def test_commit_and_read_back(repo: SQLiteRepository) -> None:
    seed(repo)
    assert repo.writer.max_ids() == (3, 2, 2)
    assert repo.counts() == {"snippets": 3, "reports": 2, "stories": 2}
    row = repo.get_snippet(2)
    assert row is not None and row.lang == "ru" and row.story_id == 1
    assert repo.by_external_ids(["a", "zzz"])["a"].id == 1
    assert [r.id for r in repo.writer.by_hash("h3")] == [3]
    np.testing.assert_array_equal(repo.vectors([3])[3], snippet(3, 2, 2).vector)
    states = repo.writer.story_states([1])
    assert states[1].languages == {"en": 1, "ru": 1}
    assert repo.stories([1])[1].snippet_count == 2


def test_story_page_orders_filters_and_pages(repo: SQLiteRepository) -> None:
    seed(repo)
    assert repo.story_page(10) == [2, 1]  # most recently updated first
    assert repo.story_page(10, lang="ru") == [1]
    assert repo.story_page(1) == [2]
    assert repo.story_page(10, after=(20.0, 2)) == [1]
    assert repo.story_page(10, since=1001.5) == [1]  # story 1 last seen at 1002


def test_failed_commit_leaves_nothing(repo: SQLiteRepository) -> None:
    seed(repo)
    with pytest.raises(Exception, match="UNIQUE"):
        repo.writer.commit(
            BatchWrite(
                [snippet(4, 3, 3), snippet(1, 3, 3)],
                [story(3, 2, {"en": 2}, 30.0)],
                [ReportState(3, 3, 0.0, 2)],
                "m@1",
            )
        )
    assert repo.counts() == {"snippets": 3, "reports": 2, "stories": 2}
    assert repo.get_snippet(4) is None


def test_reopen_keeps_everything_and_vectors_stream_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = SQLiteRepository(path, DIM)
    seed(first)
    first.close()
    again = SQLiteRepository(path, DIM)
    batches = list(again.iter_vectors(after_id=0, batch=2))
    assert [b[0].tolist() for b in batches] == [[1, 2], [3]]
    assert batches[0][1].shape == (2, DIM)
    assert [b[0].tolist() for b in again.iter_vectors(after_id=2)] == [[3]]
    assert again.count_up_to(2) == 2


def test_meta_round_trip(repo: SQLiteRepository) -> None:
    assert repo.get_meta("model") is None
    repo.writer.set_meta("model", "m@1")
    repo.writer.set_meta("model", "m@2")
    assert repo.get_meta("model") == "m@2"


def test_corrupt_database_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageCorruptError, match="db.sqlite"):
        SQLiteRepository(path, DIM)


def test_a_clean_close_lets_the_next_start_skip_the_whole_file_check(tmp_path: Path) -> None:
    """The start-up check reads every page (4.7 s at a million snippets); the service's
    clean close marks the file so that the next start can skip it, once, while the file
    is as the close left it. A crash leaves no mark; a file changed since is checked; a
    repository that does not hold the marks (a read command beside a live service)
    writes none."""
    from storage.sqlite.schema import closed_cleanly

    path = tmp_path / "s.db"
    repo = SQLiteRepository(path, 4)
    repo.hold_marks()
    repo.writer.set_meta("model", "m")
    assert not closed_cleanly(path)  # open, never closed: a crash would leave this
    repo.close()
    assert closed_cleanly(path)
    assert not closed_cleanly(path)  # consumed: the running service may crash
    SQLiteRepository(path, 4).close()
    assert not closed_cleanly(path)  # not the service's: no mark
    held = SQLiteRepository(path, 4)
    held.hold_marks()
    held.close()
    with path.open("r+b") as fh:  # changed outside after the close
        fh.seek(0, 2)
        fh.write(b"\0" * 10)
    assert not closed_cleanly(path)


def _service_start(path: Path, said: list[str]) -> SQLiteRepository:
    """What the service's start does with its database (engine.service)."""
    repo = SQLiteRepository(path, 4, check=False)
    said.append(repo.check_integrity(trust_clean_close=True))
    repo.hold_marks()
    return repo


def test_a_service_not_closed_on_this_boot_skips_the_check_a_reboot_or_a_restore_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed process cannot tear a WAL commit (the kernel keeps what it wrote), so the
    start after it trusts the file as the check before found it, also after checkpoints
    changed the main file; a new boot of the machine, a file copied over it or elsewhere,
    a clean close followed by a change outside, or no boot id gets the check again. A
    read command beside the service leaves its mark alone."""
    import shutil

    import filetrust
    from storage.sqlite import schema

    checked: list[Path] = []
    real_check = schema.check_integrity
    monkeypatch.setattr(schema, "check_integrity", lambda p: checked.append(p) or real_check(p))
    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-1")
    path = tmp_path / "s.db"
    said: list[str] = []

    killed = _service_start(path, said)  # a first start checks
    killed.writer.set_meta("model", "m")
    killed.writer.checkpoint("TRUNCATE")  # the main file changes: marked again
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    killed.writer.set_meta("more", "rows")
    killed.writer.checkpoint("TRUNCATE")
    assert checked == [path]
    SQLiteRepository(path, 4, check=False).close()  # `storyline stories` beside it
    _service_start(path, said)  # the first was killed (never closed), on this boot
    assert checked == [path]
    assert said == ["checked", "check skipped: its last service was not closed and the "
                    "machine did not restart"]  # fmt: skip
    shutil.copyfile(backup, path)  # a backup restored over it: the same inode
    _service_start(path, said)
    assert checked == [path, path]
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    shutil.copy(schema._in_use_marker(path), schema._in_use_marker(copy))
    _service_start(copy, said)  # the mark came along, the inode did not
    assert checked == [path, path, copy]
    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-2")
    _service_start(path, said)  # the machine restarted since
    assert checked == [path, path, copy, path]
    _service_start(path, said).close()  # a clean close takes the in-use mark away ...
    with path.open("r+b") as fh:  # ... and a change outside after it is checked
        fh.seek(0, 2)
        fh.write(b"\0" * 10)
    _service_start(path, said)
    assert checked == [path, path, copy, path, path]
    monkeypatch.setattr(filetrust, "boot_id", lambda: None)  # no boot id: no trust
    _service_start(path, said)
    assert checked == [path, path, copy, path, path, path]


def test_damage_found_by_a_check_leaves_no_mark_to_skip_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage the marks cannot see (a page changed with the file's time kept): `storyline
    check` finds it, and the next start, which would have trusted the file, checks it and
    refuses it."""
    import os

    import filetrust
    from storage.sqlite.schema import check_integrity

    monkeypatch.setattr(filetrust, "boot_id", lambda: "boot-1")
    path = tmp_path / "s.db"
    repo = _service_start(path, [])
    repo.writer.set_meta("model", "m")
    repo.writer.checkpoint("TRUNCATE")  # into the main file, where the damage goes
    st = path.stat()
    with path.open("r+b") as fh:  # a b-tree page's header
        fh.seek(4096 + 8)
        fh.write(b"\xff" * 100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(StorageCorruptError, match="s.db"):
        check_integrity(path)  # what `storyline check` runs
    with pytest.raises(StorageCorruptError, match="s.db"):
        _service_start(path, [])
