"""Loaders for the labelled data in shared/dev-data and the seed story fixture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evaluation.seed import parse_seed, read_fixture

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = REPO / "tests" / "fixtures"
T0 = 1_718_352_000.0  # 2024-06-14T08:00:00Z: an arbitrary fixed publication time


@dataclass(frozen=True)
class Item:
    key: str
    title: str | None
    text: str
    lang: str
    report: str  # true report label
    story: str  # true story label
    published_at: float = T0


@dataclass(frozen=True)
class Dataset:
    name: str
    items: list[Item]
    note: str


def seed_story(path: Path | None = None, with_unrelated: bool = True) -> Dataset:
    """The seed page (its own labels) plus hand-written unrelated news as distractors."""
    source = path or SHARED / "seed-story.txt"
    parsed = parse_seed(source) if source.exists() else read_fixture(FIXTURES / "seed_story.jsonl")
    items = [Item(s.key, s.title, s.text, s.lang, s.report, s.story) for s in parsed]
    if with_unrelated:
        for line in (FIXTURES / "unrelated_news.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            items.append(Item(d["key"], None, d["text"], d["lang"], d["key"], d["key"]))
    return Dataset("seed", items, "seed story page + 12 unrelated news snippets")


TATOEBA_CODES = {"deu": "de", "fra": "fr", "ita": "it", "por": "pt", "eng": "en",
                 "rus": "ru", "spa": "es"}


def tatoeba(pair: str, folder: Path | None = None) -> Dataset:
    """`pair` like 'deu-eng': a sentence and its translation form a report (and a story)."""
    folder = folder or SHARED / "dev-data" / "tatoeba"
    src, eng = pair.split("-")
    a = (folder / f"tatoeba.{pair}.{src}").read_text(encoding="utf-8").splitlines()
    b = (folder / f"tatoeba.{pair}.{eng}").read_text(encoding="utf-8").splitlines()
    if len(a) != len(b):
        raise ValueError(f"tatoeba {pair}: {len(a)} and {len(b)} lines do not align")
    items = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        label = f"{pair}:{i}"
        items.append(Item(f"{src}:{i}", None, x, TATOEBA_CODES.get(src, src[:2]), label, label))
        items.append(Item(f"{eng}:{i}", None, y, "en", label, label))
    return Dataset(f"tatoeba-{pair}", items, f"{len(a)} translation pairs")


def available() -> list[str]:
    """Every dataset name `load` accepts that is present on this machine."""
    names = ["seed"]
    folder = SHARED / "dev-data" / "tatoeba"
    if folder.is_dir():
        for f in sorted(folder.glob("tatoeba.*-eng.eng")):
            names.append("tatoeba-" + f.name.split(".")[1])
    return names


def load(name: str) -> Dataset:
    if name == "seed":
        return seed_story()
    if name.startswith("tatoeba-"):
        return tatoeba(name.removeprefix("tatoeba-"))
    raise ValueError(f"unknown dataset {name!r}; known here: {', '.join(available())}")
