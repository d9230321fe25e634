"""The README, followed literally in its own checkout: every fenced block carries a marker
(`<!-- smoke: KIND -->` on the line before it) and runs as it says, so the test fails when
the README and reality diverge.

- `install`: run in the repository root (`make install`: a no-op when CI ran it already).
- `serve`: started in the background, like a user's second terminal; `/readyz` must turn
  200, and at the end a Ctrl-C (SIGINT) must stop it cleanly.
- `shell`: each command runs in bash from the repository root, in order; a comment line
  `# → ...` under a command is its expected output (JSON compared as JSON, text line by
  line with the start of stdout). A `curl` that prints JSON must not print an error.
- `python`: run with `.venv/bin/python`.
- `demo`: started in the background; the story page it prints must answer; Ctrl-C.
- `in-file PATH`: the block is a line of PATH (the README's format example is real).
- `skip (why)`: not run (a Docker build needs a daemon: docker/ci-check.sh).

Two things differ from a user's run, both through the environment: the port (the README's
8000, and `localhost:8000` in its commands, become a free port) and the data folder
(STORYLINE_DATA_DIR in a temporary folder), so the test cannot meet a server or data of
someone else. Then `/docs` is opened in headless Chromium with every request off this
machine refused: it must draw the API anyway.

It needs the checkout's `.venv` (what `make install` makes); without it, and outside CI, it
skips. Timings go to tests/artifacts/readme-smoke.json (they are measured, never asserted).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import ROOT, free_port

README = ROOT / "README.md"
VENV_BIN = ROOT / ".venv" / "bin"
ARTIFACTS = ROOT / "tests" / "artifacts"
MARKER = re.compile(r"^<!-- smoke: (\w[\w-]*)(?: (.*?))? -->$")
KINDS = {"install", "serve", "shell", "python", "demo", "in-file", "skip"}
CI = os.environ.get("CI") == "true"


@dataclass
class Block:
    kind: str
    arg: str
    lang: str
    text: str
    line: int


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block with the marker on the line before it; an unmarked block is an
    error (a new example must say how it is checked)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang = lines[i][3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            marker = MARKER.match(lines[i - 1]) if i else None
            if marker is None:
                raise AssertionError(f"README.md:{i + 1}: a fenced block without a smoke marker")
            body = "\n".join(lines[i + 1 : end])
            blocks.append(Block(marker.group(1), marker.group(2) or "", lang, body, i + 1))
            i = end
        i += 1
    return blocks


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


def commands(block: str) -> list[Command]:
    """Shell commands (a quoted argument may span lines) with their `# → ` output lines."""
    out: list[Command] = []
    pending = ""
    for line in block.splitlines():
        if not pending and line.startswith("# → "):
            out[-1].expected.append(line[len("# → ") :])
            continue
        if not pending and (not line.strip() or line.startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if pending.rstrip().endswith("\\"):
            continue
        out.append(Command(pending))
        pending = ""
    assert not pending, f"unfinished command: {pending}"
    return out


def test_every_block_is_marked_and_the_commands_parse() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert {b.kind for b in blocks} <= KINDS, {b.kind for b in blocks} - KINDS
    assert {"install", "serve", "shell", "python"} <= {b.kind for b in blocks}
    for b in blocks:
        if b.kind == "skip":
            assert b.arg.startswith("(") and b.arg.endswith(")"), f"line {b.line}: say why"
        if b.kind in ("install", "serve", "shell", "demo"):
            assert commands(b.text), f"README.md:{b.line}: no command"


# -- the run, in the README's order --------------------------------------------------------


@dataclass
class Run:
    port: int
    env: dict[str, str]
    blocks: list[Block]
    timings: dict[str, float] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    serve_started: float = 0.0

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def local(self, text: str) -> str:
        return text.replace("localhost:8000", f"localhost:{self.port}")

    def of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]


def _need_the_checkout_venv() -> None:
    if not (VENV_BIN / "storyline").exists() and not CI:
        pytest.skip("no .venv in this checkout: run `make install` first (the README's own)")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    _need_the_checkout_venv()
    tmp = tmp_path_factory.mktemp("readme")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "STORYLINE_DATA_DIR": str(tmp / "data"),
        "DEMO_ARGS": f"--data-dir {tmp / 'demo-data'}",
        "STORYLINE_LOG_FORMAT": "text",
    }
    # as from a user's shell: no settings of the test's own, and no make above it (under
    # `make test` its MAKEFLAGS would reach the README's `make` commands)
    for name in ("STORYLINE_PORT", "STORYLINE_API_KEYS", "STORYLINE_API_KEY", "VIRTUAL_ENV"):
        env.pop(name, None)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(name, None)
    state = Run(port, env, readme_blocks(README.read_text(encoding="utf-8")))
    yield state
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "readme-smoke.json").write_text(json.dumps(state.timings, indent=2) + "\n")
    if state.server is not None and state.server.poll() is None:
        os.killpg(state.server.pid, signal.SIGKILL)


def test_install(run: Run) -> None:
    started = time.monotonic()
    for block in run.of("install"):
        for cmd in commands(block.text):
            done = subprocess.run(["bash", "-c", cmd.text], cwd=ROOT, env=run.env, timeout=3600)
            assert done.returncode == 0, cmd.text
    run.timings["install_s"] = round(time.monotonic() - started, 1)
    assert (VENV_BIN / "storyline").exists()
    size = subprocess.run(["du", "-sm", str(ROOT / ".venv")], capture_output=True, text=True)
    run.timings["venv_mb"] = float(size.stdout.split()[0])


def test_serve_answers_ready(run: Run) -> None:
    (block,) = run.of("serve")
    (cmd,) = commands(block.text)
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "readme-serve.log").open("wb") as log:
        run.server = subprocess.Popen(
            ["bash", "-c", cmd.text],
            cwd=ROOT,
            env=run.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group: Ctrl-C reaches make and the service
        )
    started = run.serve_started = time.monotonic()
    with httpx.Client(timeout=5) as http:
        while True:
            assert run.server.poll() is None, "make serve exited"
            try:
                if http.get(f"{run.url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() - started < 600, "not ready in 10 minutes"
            time.sleep(0.05)
    run.timings["serve_to_ready_s"] = round(time.monotonic() - started, 2)


def test_the_shell_and_python_examples_run_as_written(run: Run) -> None:
    assert run.server is not None and run.server.poll() is None
    for block in run.blocks:
        if block.kind == "shell":
            for cmd in commands(run.local(block.text)):
                _shell(run, cmd)
        elif block.kind == "python":
            done = subprocess.run(
                [str(VENV_BIN / "python"), "-c", run.local(block.text)],
                cwd=ROOT,
                env=run.env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"README.md:{block.line}\n{done.stderr}"
            assert done.stdout.strip(), f"README.md:{block.line} printed nothing"
        elif block.kind == "in-file":
            lines = (ROOT / block.arg).read_text(encoding="utf-8").splitlines()
            assert json.loads(block.text) in [json.loads(x) for x in lines if x.strip()], block.arg


def _shell(run: Run, cmd: Command) -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", cmd.text], cwd=ROOT, env=run.env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd.text}\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    if "first_post_answered_s" not in run.timings and "-d '" in cmd.text:
        # the README's first POST, sent the moment /readyz said ready
        run.timings["first_post_s"] = round(time.monotonic() - started, 2)
        run.timings["first_post_answered_s"] = round(time.monotonic() - run.serve_started, 2)
    if cmd.text.startswith("curl"):
        body = json.loads(out)
        assert not (isinstance(body, dict) and "error" in body), f"{cmd.text}\n{out}"
    for n, expected in enumerate(cmd.expected):
        got = out.splitlines()[n] if n < len(out.splitlines()) else ""
        if expected.startswith(("{", "[")):
            assert json.loads(got) == json.loads(expected), f"{cmd.text}\ngot {got}"
        else:
            assert got.strip() == expected.strip(), f"{cmd.text}\ngot {got!r}"


def test_the_demo_prints_pages_that_answer(run: Run) -> None:
    for block in run.of("demo"):
        (cmd,) = commands(block.text)
        env = {**run.env, "PORT": str(free_port())}
        demo = subprocess.Popen(
            ["bash", "-c", cmd.text],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            assert demo.stdout is not None
            printed = ""
            for line in demo.stdout:
                printed += line
                if "serving until Ctrl-C" in line:
                    break
            found = re.search(r"the seed story: +(http://\S+)", printed)
            assert found, printed
            assert httpx.get(found.group(1), timeout=30).status_code == 200
        finally:
            os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C: make and the demo stop
            demo.wait(60)


def test_docs_draw_in_a_browser_without_network(run: Run) -> None:
    """Headless Chromium with every request to another host refused."""
    from tests.e2e.test_browser import _unavailable, chromium_path

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make install-dev)")
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    refused: list[str] = []
    args = ["--disable-dev-shm-usage"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=args)
        context = browser.new_context()

        def only_this_machine(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if urlsplit(request.url).hostname in ("localhost", "127.0.0.1"):
                route.continue_()  # type: ignore[attr-defined]
            else:
                refused.append(request.url)
                route.abort("internetdisconnected")  # type: ignore[attr-defined]

        context.route("**/*", only_this_machine)
        page = context.new_page()
        page.goto(f"{run.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "storyline" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() >= 10  # every operation drawn
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "readme-docs-offline.png"), full_page=True)
        browser.close()
    assert not refused, f"/docs asked for {refused}"


def test_stop_with_ctrl_c(run: Run) -> None:
    assert run.server is not None
    os.killpg(run.server.pid, signal.SIGINT)
    run.server.wait(60)
    # the service stopped cleanly: the end of its lifespan ran and removed the file (make's
    # own exit code after an interrupt says nothing about that; the service may outlive it)
    url_file = Path(run.env["STORYLINE_DATA_DIR"]) / "server.url"
    deadline = time.monotonic() + 60
    while url_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not url_file.exists(), "the service did not stop cleanly on Ctrl-C"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{run.url}/healthz", timeout=5)
