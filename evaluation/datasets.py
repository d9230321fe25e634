"""Loaders for the labelled data: shared/dev-data, the seed story, and your own JSON lines.

Every loader returns a `Dataset` of `Item`s with true report and story labels and
says at which levels those labels mean something: a Tatoeba pair is one report, but
two unrelated Tatoeba sentences are not "different stories" in any useful sense, so
Tatoeba is scored at the report level only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from evaluation.seed import parse_seed, read_fixture

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DEV_DATA = SHARED / "dev-data"
FIXTURES = REPO / "tests" / "fixtures"
T0 = 1_718_352_000.0  # 2024-06-14T08:00:00Z: an arbitrary fixed publication time
LEVELS = ("story", "report")


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
    levels: tuple[str, ...] = LEVELS  # levels whose labels are meaningful
    orders: int = 1  # arrival orders to average over (small sets are order-sensitive)

    def subset(self, limit: int | None) -> Dataset:
        """The items of the first `limit` true reports, in file order (quick runs)."""
        if limit is None:
            return self
        keep: dict[str, None] = {}
        for it in self.items:
            if len(keep) >= limit and it.report not in keep:
                continue
            keep.setdefault(it.report)
        items = [it for it in self.items if it.report in keep]
        return replace(self, items=items, note=f"{self.note}; first {limit} reports")


def seed_story(path: Path | None = None, with_unrelated: bool = True) -> Dataset:
    """The seed page (its own labels) plus hand-written unrelated news as distractors."""
    source = path or SHARED / "seed-story.txt"
    parsed = parse_seed(source) if source.exists() else read_fixture(FIXTURES / "seed_story.jsonl")
    items = [Item(s.key, s.title, s.text, s.lang, s.report, s.story) for s in parsed]
    if with_unrelated:
        for line in (FIXTURES / "unrelated_news.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            items.append(Item(d["key"], None, d["text"], d["lang"], d["key"], d["key"]))
    # every item has the same publication time, so the arrival order is a shuffle:
    # four of them, averaged, keep one lucky order from deciding the score
    return Dataset("seed", items, "seed story page + 12 unrelated news snippets", LEVELS, 4)


TATOEBA_CODES = {
    "deu": "de",
    "fra": "fr",
    "ita": "it",
    "por": "pt",
    "eng": "en",
    "rus": "ru",
    "spa": "es",
}


def tatoeba(lang: str, folder: Path | None = None) -> Dataset:
    """`lang` like 'deu' (or 'deu-eng'): a sentence and its translation form a report."""
    folder = folder or DEV_DATA / "tatoeba"
    src = lang.removesuffix("-eng")
    pair = f"{src}-eng"
    a_path, b_path = folder / f"tatoeba.{pair}.{src}", folder / f"tatoeba.{pair}.eng"
    if not a_path.exists() or not b_path.exists():
        raise ValueError(f"tatoeba {pair}: expected {a_path} and {b_path}")
    a = a_path.read_text(encoding="utf-8").splitlines()
    b = b_path.read_text(encoding="utf-8").splitlines()
    if len(a) != len(b):
        raise ValueError(f"tatoeba {pair}: {len(a)} and {len(b)} lines do not align")
    items = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        label = f"{pair}:{i}"
        items.append(Item(f"{src}:{i}", None, x, TATOEBA_CODES.get(src, src[:2]), label, label))
        items.append(Item(f"eng:{i}", None, y, "en", label, label))
    return Dataset(f"tatoeba-{src}", items, f"{len(a)} {src}-eng translation pairs", ("report",))


def _timestamp(value: object) -> float:
    if value is None:
        return T0
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def jsonl(path: Path) -> Dataset:
    """Your own labelled snippets, one JSON object a line.

    Fields: `text` (required), `title`, `lang` (required), `published_at` (epoch
    seconds or ISO 8601), `report` and/or `story` (true labels; a level is scored
    only when every line has its label), `key` (defaults to the line number).
    """
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        raise ValueError(f"{path}: no labelled lines")
    levels = tuple(lv for lv in LEVELS if all(r.get(lv) is not None for r in rows))
    if not levels:
        raise ValueError(f"{path}: every line needs a 'report' or a 'story' label")
    items = []
    for n, r in enumerate(rows, 1):
        if not r.get("text") or not r.get("lang"):
            raise ValueError(f"{path} line {n}: 'text' and 'lang' are required")
        key = str(r.get("key", n))
        report = str(r.get("report", f"line{n}"))
        story = str(r.get("story", report))
        items.append(
            Item(
                key,
                r.get("title"),
                r["text"],
                r["lang"],
                report,
                story,
                _timestamp(r.get("published_at")),
            )
        )
    return Dataset(path.stem, items, f"{len(items)} labelled snippets from {path}", levels)


NTREX_FILES = ("articles", "passages")


def ntrex(part: str, folder: Path | None = None) -> Dataset:
    """`part` 'articles' or 'passages' of the labelled NTREX-128 news stream: one line per
    snippet, in arrival order, with story (event) and report (translation group) labels."""
    folder = folder or DEV_DATA / "ntrex"
    if part not in NTREX_FILES:
        raise ValueError(f"ntrex: unknown part {part!r}; expected one of {NTREX_FILES}")
    path = folder / f"{part}.jsonl"
    if not path.exists():
        raise ValueError(f"ntrex {part}: expected {path}")
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        items.append(
            Item(
                str(r["id"]),
                r.get("title") or None,
                r["text"],
                r["lang"],
                str(r["report"]),
                str(r["story"]),
                _timestamp(r.get("published_at")),
            )
        )
    note = f"{len(items)} NTREX-128 news {part} in {len({i.lang for i in items})} languages"
    return Dataset(f"ntrex-{part}", items, note, LEVELS)


def available() -> list[str]:
    """Every dataset name `load` accepts that is present on this machine."""
    names = ["seed"]
    folder = DEV_DATA / "tatoeba"
    if folder.is_dir():
        for f in sorted(folder.glob("tatoeba.*-eng.eng")):
            names.append("tatoeba-" + f.name.split(".")[1].removesuffix("-eng"))
    names += [f"ntrex-{p}" for p in NTREX_FILES if (DEV_DATA / "ntrex" / f"{p}.jsonl").exists()]
    return names


def load(name: str) -> Dataset:
    """A dataset by name (`available()`), or a path to a labelled .jsonl file."""
    if name == "seed":
        return seed_story()
    if name.startswith("tatoeba-"):
        return tatoeba(name.removeprefix("tatoeba-"))
    if name.startswith("ntrex-"):
        return ntrex(name.removeprefix("ntrex-"))
    path = Path(name)
    if path.suffix == ".jsonl" and path.is_file():
        return jsonl(path)
    raise ValueError(
        f"unknown dataset {name!r}; known here: {', '.join(available())}, "
        "or the path of a labelled .jsonl file"
    )


def load_many(names: list[str]) -> list[Dataset]:
    """Names as given on a command line; 'all' means every available dataset."""
    expanded: list[str] = []
    for n in names:
        expanded.extend(available() if n == "all" else [n])
    return [load(n) for n in dict.fromkeys(expanded)]
