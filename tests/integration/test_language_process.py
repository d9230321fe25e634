"""The language detectors the service runs, in child processes split by script: the same
answers as one detector in this process, restarts, and refused languages."""

from __future__ import annotations

import threading

import pytest

from language.detect import LanguageDetector
from language.process import DetectorProcess, split_by_script
from tests.helpers import EN, ES, OTHER_LANGS, RU

ENGLISH = "Heavy rain caused flash flooding across southern Spain on Tuesday."


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


def test_detector_processes_answer_like_one_in_process_detector(
    detector: LanguageDetector,
) -> None:
    """Split by script into two children (Latin and the rest), the answers are the ones a
    single detector over all the default languages gives, mixed-script headlines included."""

    langs = list(LanguageDetector.DEFAULT_LANGUAGES)
    assert [g for g, _ in split_by_script(langs)] == ["latin", "other"]
    texts = RU + EN + ES + [t for _, t in OTHER_LANGS] + [
        "В NATO заявили, что не видят угрозы", "Глава NATO Jens Stoltenberg прибыл в Киев",
        "Компания Apple представила новый iPhone 16 Pro", "12 345", "", RU[1] + "\nnewline",
        "Ελλάδα: νέα μέτρα", "السلام عليكم", "東京で地震", "서울 날씨",
    ]  # fmt: skip
    remote = DetectorProcess(langs)
    try:
        remote.wait_ready()
        assert remote.detect_many(texts) == detector.detect_many(texts)
        assert remote.detect(ES[1]) == "es" and remote.detect_many([]) == []
    finally:
        remote.close()


def test_one_child_when_a_script_group_is_too_small() -> None:

    assert split_by_script(["ru", "en", "es"]) == [(None, ("ru", "en", "es"))]
    remote = DetectorProcess(["ru", "en", "es"])
    try:
        assert remote.detect_many([RU[0], EN[0], ES[0], "42"]) == ["ru", "en", "es", None]
    finally:
        remote.close()


def test_detector_process_restarts_after_a_child_dies() -> None:

    remote = DetectorProcess(["ru", "uk", "en", "es"])
    try:
        assert remote.detect(RU[2]) == "ru"
        proc = remote._children[1]._proc
        assert proc is not None
        proc.kill()
        proc.wait()
        assert remote.detect_many([EN[2], RU[3]]) == ["en", "ru"]  # new children, on demand
    finally:
        remote.close()


def test_detector_process_reports_refused_languages() -> None:

    remote = DetectorProcess(["en", "xx"])
    with pytest.raises(ValueError, match="xx"):
        remote.wait_ready()
    remote.close()


def test_a_detection_waits_only_for_the_children_its_scripts_need(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the Latin-script models load, a Russian snippet is answered by the other
    child; an English one waits for its own."""
    remote = DetectorProcess(["ru", "uk", "en", "es"])
    latin, other = remote._children
    assert latin.group == "latin" and other.group == "other"
    gate = threading.Event()
    loads = latin.wait_ready

    def slow_load() -> None:
        gate.wait(120)
        loads()

    monkeypatch.setattr(latin, "wait_ready", slow_load)
    try:
        assert remote.detect_many(["Генсек НАТО отверг предложение Путина"]) == ["ru"]
        assert other.ready and not latin.ready and not remote.ready
        found: list[str | None] = []
        english = threading.Thread(target=lambda: found.append(remote.detect(ENGLISH)))
        english.start()
        english.join(0.5)
        assert english.is_alive() and not found  # held until its models are in
        gate.set()
        english.join(120)
        assert found == ["en"] and remote.ready
    finally:
        gate.set()
        remote.close()
