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
from app.settings import Settings, SettingsError, load_settings

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
    with pytest.raises(KeyConfigError, match="entry 0 does not start with a role"):
        parse_keys([f"owner:{digest}"])
    with pytest.raises(KeyConfigError, match="64 hex digits"):
        parse_keys(["write:my-plain-secret"])
    with pytest.raises(KeyConfigError):
        Authenticator(Settings(api_keys=["write"]))


def test_a_raw_key_in_the_list_is_never_repeated_in_the_error() -> None:
    """A key pasted where its hash belongs must not end up in a start-up log."""
    raw = "Sup3rSecretKeyValue-0123"
    for entry in (raw, f"write:{raw}", f"{raw}:{hash_key(raw)}"):
        with pytest.raises(KeyConfigError) as err:
            parse_keys([entry])
        assert raw not in str(err.value) and raw.lower() not in str(err.value)


def test_a_malformed_key_list_names_the_variable_not_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "Sup3rSecretKeyValue-0123"
    monkeypatch.setenv("STORYLINE_API_KEYS", f'["write:{secret}",')
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "STORYLINE_API_KEYS" in str(err.value) and "JSON list" in str(err.value)
    assert secret not in str(err.value)


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


def test_a_writer_queue_smaller_than_a_batch_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Such a queue answered every full batch 503 forever; now it does not start."""
    monkeypatch.setenv("STORYLINE_WRITER_QUEUE_SIZE", "10")
    monkeypatch.setenv("STORYLINE_MAX_BATCH_ITEMS", "100")
    with pytest.raises(SettingsError, match="STORYLINE_WRITER_QUEUE_SIZE"):
        load_settings()
    monkeypatch.setenv("STORYLINE_WRITER_QUEUE_SIZE", "100")
    assert load_settings().writer_queue_size == 100
