"""Parse the seed story page into labelled snippets.

The page's own layout carries the labels: the headline and lead form one
report, each numbered item is a report, and sub-items under an item are the
same report in another language. Two facts the layout does not show are added
from reading the page (see ``SAME_REPORT`` and ``OFF_TOPIC``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ITEM = re.compile(r"^( *)(\d+)\. (.*)$")

# Items 9 and 10 are the same Podolyak report, as an English headline and as
# the full wire text; the page lists them apart.
SAME_REPORT = {"10": "9"}
# Item 8 (weekly casualty figures) is on the page but not about the event.
OFF_TOPIC = {"8"}


@dataclass(frozen=True)
class SeedItem:
    key: str  # "lead", "1", ..., "7.1"
    title: str | None
    text: str
    lang: str
    report: str  # label of the true report
    story: str  # label of the true story


# The page is in Russian (Cyrillic items), English, and one Spanish sub-item.
SPANISH = {"7.2"}


def _lang(key: str, text: str) -> str:
    if key in SPANISH:
        return "es"
    return "ru" if re.search(r"[а-яё]", text, re.I) else "en"


def parse_seed(path: str | Path) -> list[SeedItem]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    title = lines[0].strip()
    blocks: dict[str, list[str]] = {"lead": []}
    order = ["lead"]
    current, parent = "lead", None
    for line in lines[1:]:
        m = ITEM.match(line)
        if m:
            indent, num, rest = len(m.group(1)), m.group(2), m.group(3)
            if indent >= 4 and parent is not None:
                current = f"{parent}.{num}"
            else:
                current = parent = num
            blocks[current] = [rest.strip()]
            order.append(current)
        elif line.strip():
            blocks[current].append(line.strip())
    items = []
    for key in order:
        paras = blocks[key]
        text = "\n\n".join(paras)
        top = key.split(".")[0]
        report = SAME_REPORT.get(top, top)
        story = "offtopic-" + key if top in OFF_TOPIC else "seed"
        items.append(
            SeedItem(
                key=key,
                title=title if key == "lead" else None,
                text=text,
                lang=_lang(key, text),
                report=report,
                story=story,
            )
        )
    return items


def write_fixture(items: list[SeedItem], path: str | Path) -> None:
    """The labels as JSON lines, so tests need not parse the page."""
    import json

    with Path(path).open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it.__dict__, ensure_ascii=False) + "\n")


def read_fixture(path: str | Path) -> list[SeedItem]:
    import json

    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [SeedItem(**json.loads(line)) for line in lines if line.strip()]


if __name__ == "__main__":
    import sys

    write_fixture(parse_seed(sys.argv[1]), sys.argv[2])
