"""The installed `storyline` command, run as a user would: a subprocess on a data folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, load_jsonl
from tests.serverproc import ServerProcess

STORYLINE = Path(sys.executable).with_name("storyline")
EXAMPLE = ROOT / "examples" / "snippets.jsonl"  # the README's example file


def run(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STORYLINE_DATA_DIR": str(data), "STORYLINE_LOG_LEVEL": "warning"}
    return subprocess.run(
        [str(STORYLINE), *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A data folder filled by `storyline ingest` from a file with good and bad lines."""
    tmp = tmp_path_factory.mktemp("cli")
    good = [
        {k: v for k, v in it.items() if k in ("title", "text")} | {"external_id": f"x-{it['key']}"}
        for it in load_jsonl("seed_story.jsonl") + load_jsonl("unrelated_news.jsonl")
    ]
    lines = [json.dumps(g, ensure_ascii=False) for g in good]
    lines.insert(3, "{not json")  # line 4
    lines.insert(6, json.dumps({"title": "   "}))  # line 7: nothing to embed
    lines.insert(9, json.dumps({"text": "ok", "lang": "klingon"}))  # line 10
    lines.append(json.dumps(good[0], ensure_ascii=False))  # same external_id again
    lines.append("")  # blank lines are skipped, not rejected
    path = tmp / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp / "data"
    return data, run("ingest", str(path), "--quiet", data=data)


def test_ingest_counts_and_names_rejected_lines(loaded: tuple) -> None:
    _, result = loaded
    assert result.returncode == 1, result.stderr  # some lines were rejected
    n = len(load_jsonl("seed_story.jsonl")) + len(load_jsonl("unrelated_news.jsonl"))
    counts = dict(re.findall(r"(\w+)=(\d+)", result.stdout.splitlines()[0]))
    assert int(counts["created"]) + int(counts["duplicate"]) == n
    assert counts["exists"] == "1" and counts["rejected"] == "3"
    rejected = [line for line in result.stdout.splitlines() if "rejected line" in line]
    assert [re.search(r"line (\d+)", r).group(1) for r in rejected] == ["4", "7", "10"]
    assert "JSON" in rejected[0] and "lang" in rejected[2]


def test_stories_prints_a_table_newest_first(loaded: tuple) -> None:
    data, _ = loaded
    result = run("stories", "--limit", "5", data=data)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.strip().splitlines()
    assert header.split()[:3] == ["id", "snips", "reps"] and len(rows) == 5
    everything = run("stories", "--limit", "50", data=data).stdout.strip().splitlines()[1:]
    ids = [int(r.split()[0]) for r in everything]
    assert [int(r.split()[0]) for r in rows] == ids[:5]
    assert max(int(r.split()[1]) for r in everything) >= 10  # the seed story holds most items


def test_show_prints_reports_and_json(loaded: tuple) -> None:
    data, _ = loaded
    table = run("stories", "--limit", "50", data=data).stdout.splitlines()[1:]
    biggest = max(table, key=lambda r: int(r.split()[1]))
    story_id = biggest.split()[0]
    shown = run("show", story_id, "--lang", "ru", data=data)
    assert shown.returncode == 0, shown.stderr
    as_json = json.loads(run("show", story_id, "--json", data=data).stdout)
    assert as_json["id"] == int(story_id) and as_json["reports"]
    numbered = re.findall(r"^\s*\d+\. \[(\w+)\] ", shown.stdout, re.M)
    assert len(numbered) == len(as_json["reports"]) and "ru" in numbered
    assert f"story {story_id}: " in shown.stdout


def test_show_counts_in_words(loaded: tuple) -> None:
    data, _ = loaded
    table = run("stories", "--limit", "50", data=data).stdout.splitlines()[1:]
    single = next(r for r in table if r.split()[1:3] == ["1", "1"])
    shown = run("show", single.split()[0], data=data).stdout
    assert f"story {single.split()[0]}: 1 snippet, 1 report (" in shown


def test_clear_errors_for_missing_things(tmp_path: Path, loaded: tuple) -> None:
    data, _ = loaded
    missing = run("show", "987654", data=data)
    assert missing.returncode == 1 and "987654" in missing.stderr
    nofile = run("ingest", str(tmp_path / "nope.jsonl"), data=data)
    assert nofile.returncode == 2 and "no such file" in nofile.stderr
    empty = run("stories", data=tmp_path / "empty")
    assert empty.returncode != 0 and "ingest something first" in empty.stderr


def counted(stdout: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stdout.splitlines()[0])}


def test_ingest_beside_a_server_says_what_to_do_and_sends_over_http(tmp_path: Path) -> None:
    """The data folder is busy: exit 2 naming `--url` with the server's address, no
    traceback, no model loaded; `--url` then sends the file, counting snippets."""
    data = tmp_path / "data"
    with ServerProcess(data) as server:
        server.start().wait_ready()
        busy = run("ingest", str(EXAMPLE), data=data)
        assert busy.returncode == 2, busy.stderr
        assert f"storyline ingest --url {server.url} {EXAMPLE}" in busy.stderr
        assert "stop the server" in busy.stderr and "Traceback" not in busy.stderr
        sent = run("ingest", "--url", server.url, str(EXAMPLE), data=data)
        assert sent.returncode == 0, sent.stderr
        counts = counted(sent.stdout)
        assert counts["created"] + counts["duplicate"] == 4 and counts["rejected"] == 0
        assert "4/4" in sent.stderr and "snippets" in sent.stderr and "B/s" not in sent.stderr
        again = run("ingest", "--url", server.url, str(EXAMPLE), "--quiet", data=data)
        assert counted(again.stdout)["exists"] == 4  # every line has an external_id
        stories = httpx.get(f"{server.url}/v1/stories").json()["stories"]
        assert sorted(s["snippet_count"] for s in stories) == [1, 3]  # one event, 3 languages
        nowhere = run("ingest", "--url", "http://127.0.0.1:9", str(EXAMPLE), data=data)
        assert nowhere.returncode == 2 and "cannot use http://127.0.0.1:9" in nowhere.stderr
