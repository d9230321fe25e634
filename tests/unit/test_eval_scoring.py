"""Pure parts of the evaluation: level scores, averaging, sweep summaries, grids, tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.harness import EvalResult, _mean
from evaluation.metrics import level_scores
from evaluation.sweep import best_value, grid, macro
from evaluation.tables import markdown, text


def test_level_scores_by_hand() -> None:
    # true: {0,1,2} one story in en/ru/en, {3} alone; predicted: {0,1} {2,3}
    s = level_scores([1, 1, 2, 2], ["x", "x", "x", "y"], ["en", "ru", "en", "de"])
    # true pairs (0,1) (0,2) (1,2); predicted (0,1) (2,3); both (0,1)
    assert s["pairwise"] == {"precision": 0.5, "recall": pytest.approx(1 / 3, abs=1e-4), "f1": 0.4}
    # cross-language true pairs (0,1) (1,2); together: (0,1)
    assert s["cross_lingual_recall"] == 0.5
    assert (s["groups"], s["true_groups"]) == (2, 2)
    # B-cubed precision per item: 1, 1, 1/2, 1/2 -> 3/4; recall: 2/3, 2/3, 1/3, 1 -> 2/3
    assert s["bcubed"]["precision"] == 0.75
    assert s["bcubed"]["recall"] == pytest.approx(2 / 3, abs=1e-4)


def test_mean_over_orders_averages_numbers_and_keeps_missing() -> None:
    a = {"story": {"pairwise": {"f1": 1.0}, "x": None, "groups": 3}}
    b = {"story": {"pairwise": {"f1": 0.5}, "x": None, "groups": 4}}
    assert _mean([a, b]) == {"story": {"pairwise": {"f1": 0.75}, "x": None, "groups": 3.5}}


def test_grid_is_inclusive_and_rounded() -> None:
    assert grid(0.3, 0.5, 0.05) == [0.3, 0.35, 0.4, 0.45, 0.5]
    assert grid(0.1, 0.1, 0.01) == [0.1]


def rows(values_f1: dict[str, dict[float, float]]) -> list[dict]:
    return [
        {"dataset": d, "value": v, "pairwise": {"f1": f}, "bcubed": {"f1": 1 - f}}
        for d, curve in values_f1.items()
        for v, f in curve.items()
    ]


def test_macro_gives_each_dataset_one_vote() -> None:
    r = rows({"a": {0.5: 1.0, 0.6: 0.0}, "b": {0.5: 0.0, 0.6: 0.6}})
    assert macro(r) == {0.5: 0.5, 0.6: 0.3}
    assert macro(r, "bcubed") == {0.5: 0.5, 0.6: 0.7}


def test_best_value_takes_the_middle_of_the_plateau() -> None:
    assert best_value({0.3: 0.5, 0.4: 0.9, 0.5: 0.9, 0.6: 0.9, 0.7: 0.2}) == 0.5
    assert best_value({0.3: 0.5, 0.4: 0.8, 0.5: 0.9}) == 0.5
    # within the tolerance counts as equal
    assert best_value({0.3: 0.899, 0.4: 0.9, 0.5: 0.1}, tolerance=0.002) == 0.4


def test_tables_have_one_row_per_dataset_and_level() -> None:
    scores = level_scores([1, 1, 2], ["x", "x", "y"], ["en", "de", "en"])
    both = EvalResult("seed", "online", 3, 1, {"story": scores, "report": scores})
    one = EvalResult("tatoeba-deu", "online", 3, 1, {"report": scores})
    lines = text([both, one]).splitlines()
    assert len(lines) == 4 and lines[0].split()[:3] == ["dataset", "level", "mode"]
    assert lines[1].split()[:3] == ["seed", "story", "online"]
    md = markdown([both, one]).splitlines()
    assert len(md) == 5 and md[1].startswith("| --- | --- | --- | ---: |")
    assert "| tatoeba-deu | report | online | 3 | 2 | 2 | 1.000 | 1.000 | 1.000 |" in md[4]


def test_plot_sweep_writes_a_png(tmp_path: Path) -> None:
    from evaluation.plots import plot_sweep

    r = [
        {
            "dataset": d,
            "value": v,
            "pairwise": {"precision": v, "recall": 1 - v, "f1": 0.5},
            "bcubed": {"f1": 0.6},
        }
        for d in ("a", "b")
        for v in (0.4, 0.5, 0.6)
    ]
    path = plot_sweep(r, tmp_path / "sub" / "pr.png", "title", "report_threshold", 0.5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
