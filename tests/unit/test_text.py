from stories.text import clean, content_hash, display_title, jaccard, model_input, normalise, words


def test_normalise_folds_case_punctuation_and_space() -> None:
    assert normalise("  Putin:   SAYS\n 'no'! ") == "putin says no"


def test_content_hash_ignores_formatting_but_not_words() -> None:
    assert content_hash("Title", "Some  text.") == content_hash("title", "some text")
    assert content_hash("Title", "Some text") != content_hash("Title", "Other text")
    assert content_hash(None, "x") == content_hash("", "x")


def test_jaccard() -> None:
    a, b = words("a b c"), words("b c d")
    assert jaccard(a, b) == 0.5
    assert jaccard(frozenset(), frozenset()) == 1.0


def test_clean_strips_controls_and_blank() -> None:
    assert clean(" \x00a\tb\x07 ") == "a\tb"
    assert clean("   ") is None
    assert clean(None) is None


def test_model_input_cuts_at_word_boundary() -> None:
    out = model_input("Head", "word " * 100, 60)
    assert out.startswith("Head. word")
    assert len(out) <= 60 and not out.endswith(" ")
    assert model_input(None, "short", 60) == "short"


def test_display_title_uses_first_sentence() -> None:
    assert display_title(None, "First one. Second one.") == "First one."
    assert display_title("Given", "text") == "Given"
    long = display_title(None, "word " * 100, limit=30)
    assert long.endswith("…") and len(long) <= 31
