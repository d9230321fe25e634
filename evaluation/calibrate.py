"""`storyline calibrate`: choose a model's thresholds from sweeps over labelled data.

The report threshold (optionally with the margin weight and the mutual-neighbour
bonus, searched jointly) is chosen on the report-labelled sets, then the story
threshold on the story-labelled sets with that report threshold in place. The
objective is the macro mean F1 over datasets, so one language (one Tatoeba pair)
cannot dominate. A coarse grid finds the region and a fine grid (0.01) settles
the value.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from embeddings import Embedder
from embeddings.calibration import CALIBRATION_FILE
from evaluation.datasets import Dataset
from evaluation.harness import Overrides
from evaluation.sweep import best_value, grid, macro, sweep
from stories.params import CALIBRATED, FALLBACK

COARSE = {"report": (0.30, 0.95, 0.05), "story": (0.15, 0.85, 0.05)}
FINE_STEP, FINE_SPAN = 0.01, 0.04


@dataclass
class Calibration:
    model: str  # identity name: the key in calibration.json
    model_key: str  # name@version, recorded in the note
    metric: str
    values: dict[str, float] = field(default_factory=dict)  # Params field -> chosen
    scores: dict[str, float] = field(default_factory=dict)  # knob -> macro F1 there
    curves: dict[str, dict[float, float]] = field(default_factory=dict)  # knob -> value -> F1
    rows: list[dict[str, Any]] = field(default_factory=list)  # every sweep point
    datasets: dict[str, list[str]] = field(default_factory=dict)  # level -> names

    def note(self) -> str:
        day = datetime.now(UTC).date().isoformat()
        chosen = ", ".join(
            f"{k} {v:g} (macro {self.metric} F1 {self.scores[k]:.3f})"
            for k, v in self.values.items()
        )
        sets = "; ".join(f"{lv}: {', '.join(n)}" for lv, n in self.datasets.items())
        return f"{day}: storyline calibrate on {self.model_key}, online, {chosen}; data {sets}"


def _search(
    datasets: Sequence[Dataset],
    embedder: Embedder,
    knob: str,
    base: Overrides,
    metric: str,
    values: Sequence[float] | None,
    progress: Callable[[str], None] | None,
) -> tuple[float, dict[float, float], list[dict[str, Any]]]:
    """Best value of one knob: the given grid, or coarse then fine around the best."""
    rows = sweep(datasets, embedder, knob, values or grid(*COARSE[knob]), base, progress)
    best = best_value(macro(rows, metric))
    if values is None:
        lo = max(COARSE[knob][0], best - FINE_SPAN)
        fine = [v for v in grid(lo, best + FINE_SPAN, FINE_STEP) if v not in macro(rows)]
        rows += sweep(datasets, embedder, knob, fine, base, progress)
    curve = macro(rows, metric)
    return best_value(curve), curve, rows


def calibrate(
    datasets: Sequence[Dataset],
    embedder: Embedder,
    base: Overrides | None = None,
    metric: str = "pairwise",
    report_values: Sequence[float] | None = None,
    story_values: Sequence[float] | None = None,
    margin_values: Sequence[float] | None = None,
    mutual_values: Sequence[float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    base = dict(base or {})
    ident = embedder.identity
    cal = Calibration(ident.name, ident.key, metric)
    by_level = {lv: [d for d in datasets if lv in d.levels] for lv in ("report", "story")}
    cal.datasets = {lv: [d.name for d in ds] for lv, ds in by_level.items() if ds}
    if by_level["report"]:
        # Knobs searched jointly with the report threshold (each changes where it belongs).
        joint = {
            k: list(v)
            for k, v in (("margin_weight", margin_values), ("mutual_bonus", mutual_values))
            if v
        }
        best: tuple[float, float, dict[str, float]] | None = None  # (F1, report, knobs)
        for combo in itertools.product(*joint.values()):
            knobs = dict(zip(joint, combo, strict=True))
            cfg = {**base, **knobs}
            value, curve, rows = _search(
                by_level["report"], embedder, "report", cfg, metric, report_values, progress
            )
            for r in rows:
                r.update(knobs)
            cal.rows += rows
            if best is None or curve[value] > best[0]:
                best = (curve[value], value, knobs)
                cal.curves["report"] = curve
        assert best is not None
        cal.values["report"], cal.scores["report"] = best[1], best[0]
        for k, v in best[2].items():
            cal.values[k], cal.scores[k] = v, best[0]
        base = {**base, "report": best[1], **best[2]}
    if by_level["story"]:
        value, curve, rows = _search(
            by_level["story"], embedder, "story", base, metric, story_values, progress
        )
        cal.values["story"], cal.scores["story"], cal.curves["story"] = value, curve[value], curve
        cal.rows += rows
    if not cal.values:
        raise ValueError("no dataset is labelled at the report or story level")
    return cal


def write(cal: Calibration, path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """Store the chosen values under the model's name, keeping its other numbers.

    A model seen for the first time starts from the fallback thresholds. The file
    is replaced atomically, so a running service never reads half of it.
    """
    table: dict[str, dict[str, Any]] = (
        json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    )
    fallback = {k: getattr(FALLBACK, k) for k in CALIBRATED}
    entry = dict(table.get(cal.model) or fallback)
    entry.update(cal.values)  # its keys are Params field names
    entry["calibrated_on"] = cal.note()
    table[cal.model] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return entry
