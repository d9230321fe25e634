"""The Dockerfile without a Docker daemon: it copies every package, installs torch's CPU build
at the pin, runs as a user of its own, and its health check and entry point are the tested
scripts (run outside a container: tests/e2e/test_container.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app.cli import build_parser
from app.healthcheck import readyz_url

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    """Each instruction `name` with its continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line[len(name) :].strip() for line in text.splitlines() if line.startswith(name + " ")]


def test_every_package_is_copied() -> None:
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {c.split()[0] for c in instructions("COPY")}
    assert packages <= copied, f"not copied into the image: {packages - copied}"


def test_torch_is_the_cpu_build_at_the_pin() -> None:
    pin = re.search(r"^TORCH_VERSION := (\S+)", MAKEFILE, re.M).group(1)
    assert f"torch=={pin}" in PYPROJECT["project"]["dependencies"]
    (install,) = [r for r in instructions("RUN") if "torch==" in r and "index-url" in r]
    assert f"--index-url https://download.pytorch.org/whl/cpu torch=={pin}" in install
    assert any("torch.version.cuda is None" in r for r in instructions("RUN"))


def test_it_runs_as_a_user_of_its_own() -> None:
    (user,) = instructions("USER")
    assert user not in ("root", "0")
    assert any("useradd" in r and user in r for r in instructions("RUN"))
    assert any(f"chown {user}" in r and "/data" in r for r in instructions("RUN"))


def test_health_check_and_entry_point_are_the_scripts() -> None:
    (health,) = instructions("HEALTHCHECK")
    assert health.endswith('CMD ["python", "-m", "app.healthcheck"]')
    assert not re.search(r"\b8000\b", health), "the health check must follow STORYLINE_PORT"
    assert instructions("ENTRYPOINT") == ['["storyline-entrypoint"]']
    assert "COPY docker/entrypoint.sh /usr/local/bin/storyline-entrypoint" in DOCKERFILE
    assert instructions("CMD") == ['["serve"]']


def test_the_entry_point_knows_every_command() -> None:
    script = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    (cases,) = re.findall(r"^\s*-\*\|([\w|-]+)\)", script, re.M)
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(cases.split("|")) == set(sub.choices)  # type: ignore[attr-defined]


def test_the_health_check_finds_the_port_as_serve_does() -> None:
    assert readyz_url({}) == "http://127.0.0.1:8000/readyz"
    assert readyz_url({"PORT": "9000"}) == "http://127.0.0.1:9000/readyz"
    both = {"PORT": "9000", "STORYLINE_PORT": "9100", "STORYLINE_HOST": "0.0.0.0"}
    assert readyz_url(both) == "http://127.0.0.1:9100/readyz"
    assert readyz_url({"STORYLINE_HOST": "::"}) == "http://[::1]:8000/readyz"
    assert readyz_url({"STORYLINE_HOST": "10.0.0.5"}) == "http://10.0.0.5:8000/readyz"
