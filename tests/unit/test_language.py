"""Language detection on one-line headlines in this process, and validation of client
codes (the detector processes the service runs: tests/integration/test_language_process.py)."""

from __future__ import annotations

import pytest

from language import ISO_639_1_CODES, validate_code
from language.detect import LanguageDetector, dominant_script_text
from tests.helpers import EN, ES, OTHER_LANGS, RU


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ru", t) for t in RU] + [("en", t) for t in EN] + [("es", t) for t in ES] + OTHER_LANGS,
)
def test_detects_headline(detector: LanguageDetector, lang: str, text: str) -> None:
    assert detector.detect(text) == lang


def test_detect_many_matches_detect(detector: LanguageDetector) -> None:
    texts = RU + EN + ES + [t for _, t in OTHER_LANGS] + ["", "2024"]
    assert detector.detect_many(texts) == [detector.detect(t) for t in texts]
    assert detector.detect_many([]) == []


@pytest.mark.parametrize(
    "text", ["", "   \n\t", "12345", "2024-05-01 12:30", "!!! ... ???", "42 %"]
)
def test_no_letters_gives_none(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "В NATO заявили, что не видят угрозы",
        "Глава NATO Jens Stoltenberg прибыл в Киев",
        "Компания Apple представила новый iPhone 16 Pro",
        "Bloomberg: ЕС готовит новый пакет санкций",
    ],
)
def test_cyrillic_dominant_text_with_latin_names_is_russian(
    detector: LanguageDetector, text: str
) -> None:
    assert detector.detect(text) == "ru"


def test_latin_dominant_text_with_a_cyrillic_word_keeps_its_language(
    detector: LanguageDetector,
) -> None:
    assert detector.detect("The Kremlin newspaper Известия said talks had stalled") == "en"


def test_candidate_languages_are_configurable() -> None:
    detector = LanguageDetector(["en", "ES", "ru"], preload=False)
    assert detector.languages == ("en", "es", "ru")
    # Ukrainian is not a candidate here, so a Cyrillic headline can only be Russian.
    assert detector.detect("Верховна Рада ухвалила закон про мобілізацію") == "ru"


def test_low_accuracy_lazy_detector_reads_long_text() -> None:
    detector = LanguageDetector(["en", "es", "ru", "uk"], low_accuracy=True, preload=False)
    assert detector.detect(" ".join(ES[:3])) == "es"
    assert detector.detect(" ".join(RU[:3])) == "ru"


@pytest.mark.parametrize(
    ("languages", "message"),
    [(["en"], "at least two"), (["en", "xx"], "'xx'"), (["en", "yi"], "does not support")],
)
def test_bad_candidate_languages_are_rejected(languages: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LanguageDetector(languages, preload=False)


def test_default_languages_are_valid_codes() -> None:
    assert {"ru", "en", "es", "uk", "de", "fr"} <= set(LanguageDetector.DEFAULT_LANGUAGES)
    assert set(LanguageDetector.DEFAULT_LANGUAGES) <= ISO_639_1_CODES


@pytest.mark.parametrize(("code", "expected"), [("ru", "ru"), ("EN", "en"), (" es ", "es")])
def test_validate_code_normalises(code: str, expected: str) -> None:
    assert validate_code(code) == expected


@pytest.mark.parametrize("code", ["xx", "rus", "", "e", "en-US", "e1", "ру"])
def test_validate_code_rejects(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 639-1"):
        validate_code(code)


def test_validate_code_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="ISO 639-1"):
        validate_code(None)  # type: ignore[arg-type]


def test_iso_list_is_complete() -> None:
    assert len(ISO_639_1_CODES) == 183
    assert all(len(c) == 2 and c.isascii() and c.islower() for c in ISO_639_1_CODES)
    assert {"ru", "en", "es", "uk", "zh", "he", "id", "yi"} <= ISO_639_1_CODES


def test_script_filter_keeps_combining_marks() -> None:
    text = "भारत ने NATO के साथ नई साझेदारी की घोषणा की"
    assert dominant_script_text(text) == "भारत ने के साथ नई साझेदारी की घोषणा की"
    assert dominant_script_text("Ukraine says") == "Ukraine says"  # one script: unchanged
    assert dominant_script_text("2024 — 15 %") == ""


def test_mixed_devanagari_headline(detector: LanguageDetector) -> None:
    assert detector.detect("भारत ने NATO के साथ नई साझेदारी की घोषणा की") == "hi"


def test_shared_detector_refuses_unknown_codes_before_starting_anything() -> None:
    from language.process import shared_detector

    with pytest.raises(ValueError, match="xx"):
        shared_detector(["en", "xx"])
    with pytest.raises(ValueError, match="at least two"):
        shared_detector(["en"])
