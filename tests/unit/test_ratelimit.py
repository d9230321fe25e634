"""The per-key token bucket behind the rate limits, on a hand-driven clock (the limits
over real HTTP: tests/integration/test_limits.py)."""

from __future__ import annotations

import pytest

from app.http.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert limiter.take("b") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    clock.now += 100
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # capped at the burst
    assert limiter.take("a") > 0


def test_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_keys=100, clock=FakeClock())
    for n in range(10_000):
        limiter.take(f"ip:10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) == 100
