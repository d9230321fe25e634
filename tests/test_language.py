"""Language detection on one-line headlines, and validation of client codes."""

from __future__ import annotations

import pytest

from language import ISO_639_1_CODES, validate_code
from language.detect import LanguageDetector, dominant_script_text

RU = [
    "В Пентагоне считают, что Путин не вправе ставить условия",
    "Центробанк сохранил ключевую ставку на прежнем уровне",
    "В Москве ожидается аномальная жара до конца недели",
    "Сборная России по хоккею обыграла Финляндию в овертайме",
    "Правительство одобрило законопроект о налоге на сверхприбыль",
    "Цены на бензин выросли в большинстве регионов страны",
    "Учёные обнаружили новый вид древних динозавров в Якутии",
    "Президент подписал указ о призыве резервистов",
    "Землетрясение магнитудой шесть баллов произошло у берегов Камчатки",
    "Генсек НАТО призвал союзников увеличить военные расходы",
    "Школьники сдали единый государственный экзамен по математике",
    "Аэропорт Шереметьево отменил десятки рейсов из-за снегопада",
]

EN = [
    "Putin sets condition for Ukraine peace talks",
    "Central bank holds interest rates steady amid inflation fears",
    "Heatwave grips southern Europe as temperatures soar",
    "Apple unveils new iPhone with longer battery life",
    "Storm leaves thousands without power across the Midwest",
    "Parliament votes to extend emergency powers for six months",
    "Scientists discover ancient shipwreck off the coast of Greece",
    "Oil prices fall after OPEC agrees to boost output",
    "Striking nurses reject latest pay offer from the government",
    "Manchester United sack manager after dismal run of results",
    "Wildfire forces evacuation of mountain towns in California",
    "Tech giants face new antitrust probe in Brussels",
]

ES = [
    "La OTAN no considera pacífica la propuesta de Putin",
    "El Banco Central mantiene los tipos de interés sin cambios",
    "Una ola de calor dispara las temperaturas en el sur de España",
    "El Gobierno aprueba la reforma de las pensiones",
    "Miles de personas se manifiestan en Madrid contra la subida de precios",
    "El Real Madrid gana la final de la Liga de Campeones",
    "Un terremoto sacude la costa de Chile sin causar víctimas",
    "Los agricultores bloquean las carreteras en protesta por los costes",
    "La inflación se modera en el mes de mayo según el INE",
    "Detenido un hombre por el incendio forestal de Valencia",
    "El precio de la vivienda alcanza un máximo histórico",
    "Científicos descubren una nueva especie de rana en la Amazonía",
]

OTHER = [
    ("uk", "Україна отримала нову партію військової допомоги від союзників"),
    ("uk", "У Києві оголосили повітряну тривогу через загрозу ракетного удару"),
    ("uk", "Верховна Рада ухвалила закон про мобілізацію"),
    ("de", "Bundesregierung beschließt neues Gesetz zur Energiewende"),
    ("de", "Die Inflation in Deutschland ist im Oktober deutlich gesunken"),
    ("de", "Schwere Unwetter sorgen für Chaos auf den Straßen in Bayern"),
    ("fr", "Le gouvernement présente son projet de budget pour l'année prochaine"),
    ("fr", "Grève dans les transports : la circulation fortement perturbée à Paris"),
    ("fr", "Les prix de l'énergie continuent de baisser selon l'Insee"),
    ("it", "Il governo approva la nuova legge di bilancio"),
    ("pt", "O governo anunciou novas medidas para conter a inflação"),
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ru", t) for t in RU] + [("en", t) for t in EN] + [("es", t) for t in ES] + OTHER,
)
def test_detects_headline(detector: LanguageDetector, lang: str, text: str) -> None:
    assert detector.detect(text) == lang


def test_detect_many_matches_detect(detector: LanguageDetector) -> None:
    texts = RU + EN + ES + [t for _, t in OTHER] + ["", "2024"]
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


# -- the detector processes the service uses ------------------------------------------


def test_detector_processes_answer_like_one_in_process_detector(
    detector: LanguageDetector,
) -> None:
    """Split by script into two children (Latin and the rest), the answers are the ones a
    single detector over all the default languages gives, mixed-script headlines included."""
    from language.process import DetectorProcess, split_by_script

    langs = list(LanguageDetector.DEFAULT_LANGUAGES)
    assert [g for g, _ in split_by_script(langs)] == ["latin", "other"]
    texts = RU + EN + ES + [t for _, t in OTHER] + [
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
    from language.process import DetectorProcess, split_by_script

    assert split_by_script(["ru", "en", "es"]) == [(None, ("ru", "en", "es"))]
    remote = DetectorProcess(["ru", "en", "es"])
    try:
        assert remote.detect_many([RU[0], EN[0], ES[0], "42"]) == ["ru", "en", "es", None]
    finally:
        remote.close()


def test_detector_process_restarts_after_a_child_dies() -> None:
    from language.process import DetectorProcess

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
    from language.process import DetectorProcess

    remote = DetectorProcess(["en", "xx"])
    with pytest.raises(ValueError, match="xx"):
        remote.wait_ready()
    remote.close()


def test_shared_detector_refuses_unknown_codes_before_starting_anything() -> None:
    from language.process import shared_detector

    with pytest.raises(ValueError, match="xx"):
        shared_detector(["en", "xx"])
    with pytest.raises(ValueError, match="at least two"):
        shared_detector(["en"])
