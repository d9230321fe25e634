"""Metric code against small cases computed by hand."""

import pytest

from evaluation.metrics import bcubed, cross_lingual_recall, pairwise


def test_perfect_grouping() -> None:
    true = ["a", "a", "b"]
    assert pairwise([1, 1, 2], true).f1 == 1.0
    assert bcubed([1, 1, 2], true).f1 == 1.0


def test_everything_in_one_group() -> None:
    # true pairs: (0,1) only; predicted pairs: 3 -> precision 1/3, recall 1
    s = pairwise([0, 0, 0], ["a", "a", "b"])
    assert s.precision == pytest.approx(1 / 3) and s.recall == 1.0 and s.f1 == pytest.approx(0.5)
    # B-cubed precision per item: 2/3, 2/3, 1/3 -> 5/9; recall 1
    b = bcubed([0, 0, 0], ["a", "a", "b"])
    assert b.precision == pytest.approx(5 / 9) and b.recall == 1.0


def test_all_singletons() -> None:
    s = pairwise([0, 1, 2, 3], ["a", "a", "b", "b"])
    assert s.precision == 1.0 and s.recall == 0.0 and s.f1 == 0.0
    b = bcubed([0, 1, 2, 3], ["a", "a", "b", "b"])
    assert b.precision == 1.0 and b.recall == pytest.approx(0.5)


def test_mixed_case() -> None:
    # pred {0,1,2} {3,4}; true {0,1} {2,3,4}
    pred, true = [1, 1, 1, 2, 2], ["x", "x", "y", "y", "y"]
    s = pairwise(pred, true)
    # predicted pairs: 3 + 1 = 4; true pairs: 1 + 3 = 4; both: (0,1) and (3,4) = 2
    assert (s.precision, s.recall) == (0.5, 0.5)
    b = bcubed(pred, true)
    # precision: items 0,1: 2/3; item 2: 1/3; items 3,4: 1 -> (2/3+2/3+1/3+1+1)/5 = 11/15
    assert b.precision == pytest.approx(11 / 15)
    # recall: items 0,1: 1; item 2: 1/3; items 3,4: 2/3 -> (1+1+1/3+2/3+2/3)/5 = 11/15
    assert b.recall == pytest.approx(11 / 15)


def test_cross_lingual_recall() -> None:
    # true group x: en, ru, es; group y: en, en
    true = ["x", "x", "x", "y", "y"]
    langs = ["en", "ru", "es", "en", "en"]
    # cross-language true pairs: (0,1) (0,2) (1,2); the prediction keeps only (0,1)
    assert cross_lingual_recall([1, 1, 2, 3, 3], true, langs) == pytest.approx(1 / 3)
    assert cross_lingual_recall([1, 1, 1, 2, 3], true, langs) == 1.0
    assert cross_lingual_recall([1, 2], ["x", "x"], ["en", "en"]) is None


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 predicted labels for 3"):
        pairwise([1, 2], ["a", "b", "c"])
