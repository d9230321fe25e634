"""Dataset loaders: the dev data's own structure becomes the labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import datasets
from evaluation.seed import parse_seed, read_fixture

TATOEBA = datasets.DEV_DATA / "tatoeba"
needs_tatoeba = pytest.mark.skipif(not TATOEBA.is_dir(), reason="no ../shared/dev-data/tatoeba")
PAGE = datasets.SHARED / "seed-story.txt"


@needs_tatoeba
def test_tatoeba_pairs_are_reports_and_nothing_else() -> None:
    data = datasets.load("tatoeba-deu")
    assert data.name == "tatoeba-deu" and data.levels == ("report",)
    lines = (TATOEBA / "tatoeba.deu-eng.deu").read_text(encoding="utf-8").splitlines()
    assert len(data.items) == 2 * len(lines)
    first, second = data.items[0], data.items[1]
    assert (first.lang, second.lang) == ("de", "en")
    assert first.text == lines[0] and first.report == second.report
    assert len({it.report for it in data.items}) == len(lines)
    # the long form names the same set
    assert datasets.load("tatoeba-deu-eng").items == data.items


@needs_tatoeba
def test_available_lists_every_tatoeba_pair_found() -> None:
    names = datasets.available()
    on_disk = sorted(TATOEBA.glob("tatoeba.*-eng.eng"))
    ntrex = sorted((TATOEBA.parent / "ntrex").glob("*.jsonl"))
    labelled = [p for p in ntrex if p.stem in datasets.NTREX_FILES]
    assert names[0] == "seed" and len(names) == 1 + len(on_disk) + len(labelled)
    assert [d.name for d in datasets.load_many(["all"])] == names


@needs_tatoeba
def test_ntrex_streams_carry_both_levels_in_time_order() -> None:
    for part in datasets.NTREX_FILES:
        data = datasets.ntrex(part)
        assert data.levels == ("story", "report")
        times = [it.published_at for it in data.items]
        assert times == sorted(times)
        # a report (translation group) never spans two stories (events)
        story_of: dict[str, str] = {}
        for it in data.items:
            assert story_of.setdefault(it.report, it.story) == it.story
        assert len({it.lang for it in data.items}) == 7


def test_subset_keeps_whole_reports() -> None:
    data = datasets.seed_story()
    small = data.subset(3)
    reports = list(dict.fromkeys(it.report for it in data.items))[:3]
    assert {it.report for it in small.items} == set(reports)
    # every member of a kept report comes along (report 7 has three)
    assert sum(it.report == "7" for it in data.subset(12).items) == 3
    assert data.subset(None) is data


@pytest.mark.skipif(not PAGE.exists(), reason="no ../shared/seed-story.txt")
def test_seed_fixture_matches_the_page() -> None:
    assert parse_seed(PAGE) == read_fixture(datasets.FIXTURES / "seed_story.jsonl")


def test_seed_labels_follow_the_page_structure() -> None:
    items = {it.key: it for it in read_fixture(datasets.FIXTURES / "seed_story.jsonl")}
    assert list(items)[:2] == ["lead", "1"] and len(items) == 13
    assert items["lead"].title and items["1"].title is None
    # sub-items are the same report in another language
    assert items["7.1"].report == items["7.2"].report == items["7"].report
    assert (items["7"].lang, items["7.1"].lang, items["7.2"].lang) == ("ru", "en", "es")
    # the two facts the layout does not show: 9 and 10 are one report; 8 is off topic
    assert items["10"].report == items["9"].report
    assert items["8"].story != "seed"
    assert {it.story for k, it in items.items() if k != "8"} == {"seed"}


def test_seed_dataset_adds_unrelated_news_as_their_own_stories() -> None:
    data = datasets.seed_story()
    assert data.levels == ("story", "report") and data.orders > 1
    unrelated = [it for it in data.items if it.key.startswith("u")]
    assert len(unrelated) == 12 and len({it.story for it in unrelated}) == 12


def test_jsonl_dataset(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        {"text": "a", "lang": "en", "story": "s1", "published_at": "2024-06-14T08:00:00Z"},
        {"text": "b", "lang": "de", "story": "s1", "published_at": 1718352000},
        {"text": "c", "lang": "en", "story": "s2"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    data = datasets.load(str(path))
    assert data.name == "mine" and data.levels == ("story",)
    assert [it.published_at for it in data.items] == [datasets.T0] * 3
    assert [it.story for it in data.items] == ["s1", "s1", "s2"]


def test_jsonl_dataset_errors_say_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "a", "lang": "en"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'report' or a 'story' label"):
        datasets.load(str(path))
    path.write_text(json.dumps({"text": "", "lang": "en", "report": "r"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: 'text' and 'lang' are required"):
        datasets.load(str(path))


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'; known here: seed"):
        datasets.load("nope")
