"""API key configuration without a server: parsing, the environment, exposure rules and
`storyline hash-key` (every endpoint against every role: tests/integration/test_auth.py)."""

from __future__ import annotations

import io
import sys

import pytest

from app.cli import main
from app.http.auth import (
    Authenticator,
    KeyConfigError,
    exposure_problem,
    hash_key,
    is_loopback,
    parse_keys,
)
from app.settings import Settings

KEYS = {
    "read": "read-key-0123456789abcdef",
    "write": "write-key-0123456789abcdef",
    "admin": "admin-key-0123456789abcdef",
}


def entries() -> list[str]:
    return [f"{role}:{hash_key(key)}" for role, key in KEYS.items()]


def test_key_configuration_is_validated() -> None:
    digest = hash_key("x" * 20)
    assert parse_keys([f"write:{digest}", f" READ : {digest.upper()} "])[1][0] == "read"
    with pytest.raises(KeyConfigError, match="role 'owner'"):
        parse_keys([f"owner:{digest}"])
    with pytest.raises(KeyConfigError, match="64 hex digits"):
        parse_keys(["write:my-plain-secret"])
    with pytest.raises(KeyConfigError):
        Authenticator(Settings(api_keys=["write"]))


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = entries()[:2]
    monkeypatch.setenv("STORYLINE_API_KEYS", f"{a}, {b}")
    assert Settings().api_keys == [a, b]
    monkeypatch.setenv("STORYLINE_API_KEYS", f'["{a}"]')
    assert Settings().api_keys == [a]
    auth = Authenticator(Settings())
    assert auth.identify(KEYS["read"]) is not None and auth.identify(KEYS["write"]) is None


def test_exposure_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert exposure_problem(Settings(host="127.0.0.1")) is None
    problem = exposure_problem(Settings(host="0.0.0.0"))
    assert problem and "STORYLINE_ALLOW_OPEN" in problem
    assert exposure_problem(Settings(host="0.0.0.0", allow_open=True)) is None
    assert exposure_problem(Settings(host="0.0.0.0", api_keys=entries())) is None


def test_hash_key_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(KEYS["write"] + "\n"))
    assert main(["hash-key", "--role", "write"]) == 0
    entry = capsys.readouterr().out.strip()
    assert entry == f"write:{hash_key(KEYS['write'])}"
    assert Authenticator(Settings(api_keys=[entry])).identify(KEYS["write"]).role == "write"

    assert main(["hash-key", "--role", "admin", "--generate"]) == 0
    key, made = capsys.readouterr().out.split()
    assert made == f"admin:{hash_key(key)}" and len(key) >= 32

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["hash-key"]) == 2
