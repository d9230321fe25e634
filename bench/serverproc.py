"""The real service as a child process: `storyline serve` on a loopback port.

A separate process, so that its resident memory is its own and a restart is a real
one (interpreter start, imports, model load, index load), timed until /readyz says 200.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "storyline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


class ServerProcess:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.start_cpu_s = 0.0  # CPU the last start used: its wall time on an idle machine
        self.languages_s = 0.0  # seconds from spawn until language detection was ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server is not running"
        return self.proc.pid

    def start(self, timeout: float = 300.0, settle: bool = True) -> float:
        """Spawn and wait until /readyz answers 200; returns seconds from spawn to ready.
        `settle`: then also wait for language detection, which loads after ready (so that
        its loading does not share the cores with what is measured next); its time from
        spawn is `languages_s`."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [*_command(), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        log = self.log_path.open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        log.close()
        deadline = started + timeout
        with httpx.Client(timeout=5.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; see {self.log_path}:\n"
                        + self.log_path.read_text(errors="replace")[-3000:]
                    )
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        self.start_cpu_s = self.cpu_seconds()
                        ready = time.perf_counter() - started
                        if settle:
                            while client.get(f"{self.url}/readyz").json().get(
                                "language_detection"
                            ) not in ("ready", None):
                                time.sleep(0.02)
                        self.languages_s = time.perf_counter() - started
                        return ready
                except httpx.TransportError:
                    pass
                if time.perf_counter() > deadline:
                    self.stop(signal.SIGKILL)
                    raise TimeoutError(
                        f"server not ready after {timeout:.0f} s; see {self.log_path}"
                    )
                time.sleep(0.01)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120.0) -> float:
        """Send `sig` and wait for the exit; returns the seconds it took."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.perf_counter()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.perf_counter() - started

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server process and its live children (the model
        and language processes) have used so far, all threads."""
        own, children = self.cpu_split()
        return own + children

    def cpu_split(self) -> tuple[float, float]:
        """CPU seconds of the server process itself (web stack, writer, all its threads)
        and of its live children (the model and language processes), apart."""
        own = children = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            if int(entry) == self.pid:
                own += ticks
            elif int(fields[1]) == self.pid:
                children += ticks
        tick = os.sysconf("SC_CLK_TCK")
        return own / tick, children / tick

    def memory(self) -> dict[str, int]:
        """Resident and peak resident bytes of the server process."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[{"VmRSS": "rss", "VmHWM": "peak_rss"}[key]] = int(value.split()[0]) * 1024
        return out

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
