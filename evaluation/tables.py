"""Results as tables: one row per dataset and level, for terminals and for Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.harness import EvalResult

COLUMNS = (
    "dataset",
    "level",
    "mode",
    "items",
    "groups",
    "true",
    "pair P",
    "pair R",
    "pair F1",
    "B3 P",
    "B3 R",
    "B3 F1",
    "x-ling R",
)


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def rows(results: Sequence[EvalResult]) -> list[list[str]]:
    out = []
    for r in sorted(results, key=lambda r: r.dataset):
        for level in ("story", "report"):
            s: dict[str, Any] | None = r.scores.get(level)
            if s is None:
                continue
            out.append(
                [
                    r.dataset,
                    level,
                    r.mode,
                    str(r.items),
                    f"{s['groups']:g}",
                    f"{s['true_groups']:g}",
                    _num(s["pairwise"]["precision"]),
                    _num(s["pairwise"]["recall"]),
                    _num(s["pairwise"]["f1"]),
                    _num(s["bcubed"]["precision"]),
                    _num(s["bcubed"]["recall"]),
                    _num(s["bcubed"]["f1"]),
                    _num(s["cross_lingual_recall"]),
                ]
            )
    return out


def text(results: Sequence[EvalResult]) -> str:
    body = rows(results)
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(COLUMNS)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 3 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*COLUMNS), *(fmt.format(*r) for r in body)])


def markdown(results: Sequence[EvalResult]) -> str:
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "| " + " | ".join("---" if i < 3 else "---:" for i in range(len(COLUMNS))) + " |"
    return "\n".join([header, rule, *("| " + " | ".join(r) + " |" for r in rows(results))])


def curve_text(curves: dict[str, dict[float, float]], chosen: dict[str, float], metric: str) -> str:
    """The macro F1 at every swept value, the chosen one marked."""
    lines = []
    for knob, curve in curves.items():
        lines.append(f"{knob} threshold -> macro {metric} F1")
        for value, f1 in curve.items():
            mark = "  <- chosen" if value == chosen.get(knob) else ""
            lines.append(f"  {value:6.3f}  {f1:.4f}{mark}")
    return "\n".join(lines)


def confusions(results: Sequence[EvalResult], limit: int = 3) -> str:
    """Markdown: per news set and mode, the predicted stories that mix true events and the
    true events split most (first arrival order), so a score can be read against items."""
    out = ["## Where the story level goes wrong", ""]
    for r in results:
        story = r.confusions.get("story")
        if not story or r.dataset.startswith("tatoeba"):
            continue
        out.append(f"**{r.dataset}, {r.mode}**")
        out.append("")
        for m in story["mixed"][:limit]:
            parts = ", ".join(f"{t} ×{n}" for t, n in m["true"].items())
            out.append(f"- mixed: one story of {m['items']} holds {parts}: {m['examples'][:2]}")
        for s in story["split"][:limit]:
            out.append(
                f"- split: {s['true']} ({s['items']} items) in {s['pieces']} stories "
                f"{s['sizes']}: {s['example']!r}"
            )
        if not story["mixed"] and not story["split"]:
            out.append("- none")
        out.append("")
    return "\n".join(out)
