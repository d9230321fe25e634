from stories.entities import (
    keys_match,
    name_key,
    names,
    numbers,
    rarity_weights,
    shared_name_evidence,
    transliterate,
)


def test_transliteration_meets_romanisations() -> None:
    assert transliterate("Столтенберг") == "stoltenberg"
    assert name_key("Подоляк") == name_key("Podolyak") == name_key("Podoliak")
    assert name_key("Зеленский") == name_key("Zelensky")


def test_inflected_and_accented_forms_match() -> None:
    assert names("Заявление Столтенберга") & names("Stoltenberg said")
    assert names("la propuesta de Putin") == names("Путина") | names("la")  # 'la' is too short
    (ukr_es,) = names("Ucrania")
    (ukr_ru,) = names("Украина")
    assert keys_match(ukr_es, ukr_ru)


def test_unrelated_names_do_not_match() -> None:
    (a,) = names("Stoltenberg")
    (b,) = names("Zakharova")
    assert not keys_match(a, b)


def test_numbers_ignore_grouping_and_keep_decimals() -> None:
    assert numbers("до 12 795 военных") == numbers("up to 12,795 troops") == {"12795"}
    assert numbers("2,5 млн") == {"2.5"}
    assert numbers("a 7 b") == frozenset()  # single digits are too common to tell anything


def test_shared_name_evidence_uses_rarity() -> None:
    a = names("Putin Stoltenberg")
    b = names("Путин Столтенберг")
    assert shared_name_evidence(a, b) == 1.0
    assert shared_name_evidence(a, names("Zakharova")) == 0.0
    assert shared_name_evidence(frozenset(), b) == 0.0
    # Putin is everywhere in the neighbourhood, Stoltenberg in one place: sharing only
    # Putin must count for less than sharing only Stoltenberg.
    sets = [names("Putin"), names("Putin"), names("Putin Stoltenberg"), names("Putin")]
    w = rarity_weights(sets)
    only_putin = shared_name_evidence(a, names("Путин Захарова"), w)
    only_stoltenberg = shared_name_evidence(a, names("Столтенберг Захарова"), w)
    assert only_stoltenberg > only_putin
