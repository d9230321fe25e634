"""API keys: who may read, write or re-index.

Keys are stored hashed (`role:sha256hex`, made by `storyline hash-key`), so the
settings never hold a usable secret. A presented key is hashed and compared
with every configured hash in constant time; the key itself is never logged or
kept, only its position in the settings (`key_id`, e.g. "key2:write"), which logs and
rate limits use: it says nothing about the key, not even a prefix of its hash.
With no keys configured the service is open, which `storyline serve` allows on
a loopback address only (see `exposure_problem`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http.errors import error
from app.http.ratelimit import RateLimiter
from app.settings import Settings

log = logging.getLogger(__name__)

ROLES = {"read": 1, "write": 2, "admin": 3}
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key itself.")


class KeyConfigError(ValueError):
    """A malformed `api_keys` entry; the message says which and what is expected."""


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    role: str  # read | write | admin | anonymous
    key_id: str  # "key<n>:<role>" (n: position in api_keys) or "ip:<client>"; safe to log


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_keys(entries: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for n, entry in enumerate(entries):
        role, _, digest = entry.strip().partition(":")
        role = role.strip().lower()
        digest = digest.strip().lower()
        if role not in ROLES:  # never repeat it: a raw key pasted here would be logged
            raise KeyConfigError(
                f"entry {n} does not start with a role (read:, write: or admin:); "
                "entries look like 'write:<sha256 hex>' (see `storyline hash-key`)"
            )
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise KeyConfigError(
                f"entry {n}: expected 64 hex digits of SHA-256 after '{role}:'; "
                "put the hash there, not the key (see `storyline hash-key`)"
            )
        out.append((role, bytes.fromhex(digest)))
    return out


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(settings: Settings) -> str | None:
    """Why `serve` must not start as configured, or None when it may."""
    if settings.api_keys or settings.allow_open or is_loopback(settings.host):
        return None
    return (
        f"refusing to serve on {settings.host} without API keys: anyone who can reach it "
        "could write and delete. Set STORYLINE_API_KEYS (see `storyline hash-key`), bind "
        "to 127.0.0.1, or set STORYLINE_ALLOW_OPEN=true to accept the risk"
    )


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise AuthError(401, "unauthorized", "Authorization header must be 'Bearer <key>'")
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.keys = parse_keys(settings.api_keys)
        self.public = {"read": settings.public_reads, "metrics": settings.public_metrics}
        self.limiter = (
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
            if settings.rate_limit_per_second > 0
            else None
        )

    @property
    def open(self) -> bool:
        return not self.keys

    def identify(self, key: str) -> Principal | None:
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found: Principal | None = None
        for n, (role, candidate) in enumerate(self.keys):  # no early exit: same work for all
            if hmac.compare_digest(digest, candidate) and found is None:
                found = Principal(role, f"key{n}:{role}")
        return found

    def check(self, request: Request, role: str, public: str | None) -> Principal:
        client = request.client.host if request.client else "unknown"
        if self.open:
            return Principal("admin", f"ip:{client}")
        key = _presented(request)
        if key is None:
            if public and self.public.get(public):
                return Principal("anonymous", f"ip:{client}")
            raise AuthError(401, "unauthorized", "an API key is required (Authorization: Bearer)")
        principal = self.identify(key)
        if principal is None:
            raise AuthError(401, "unauthorized", "the API key is not valid")
        if ROLES[principal.role] < ROLES[role]:
            raise AuthError(
                403, "forbidden", f"this key has role {principal.role}; this needs {role}"
            )
        return principal


def require(role: str, public: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys of `role` or above (or anyone when `public` is set on).

    `public` names a switch: "read" (STORYLINE_PUBLIC_READS) or "metrics".
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
        _header: Annotated[str | None, Depends(API_KEY)] = None,
    ) -> Principal:
        # the two parameters only document the schemes in OpenAPI; `check` reads the headers
        auth: Authenticator = request.app.state.auth
        principal = auth.check(request, role, public)
        request.state.principal = principal
        if auth.limiter is not None:
            wait = auth.limiter.take(principal.key_id)
            if wait > 0:
                raise RateLimited(wait)
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


class WriteGate:
    """Refuse a change (POST, PUT, PATCH, DELETE) without a write key before its body is
    read: an anonymous client cannot make the service parse a large body. The route's
    `require` still decides (admin-only routes, rate limits); this only fails earlier."""

    MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.MUTATING and not self.auth.open:
            try:
                self.auth.check(Request(scope), "write", None)
            except AuthError as exc:
                response = _refusal(exc)
                response.headers["connection"] = "close"  # the unread body is not drained
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(exc: AuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error(exc.status, exc.code, exc.message, headers=headers)


def install(app: FastAPI, settings: Settings) -> Authenticator:
    auth = Authenticator(settings)
    app.state.auth = auth
    app.add_middleware(WriteGate, auth=auth)

    @app.exception_handler(AuthError)
    def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return _refusal(exc)

    @app.exception_handler(RateLimited)
    def _limited(_: Request, exc: RateLimited) -> JSONResponse:
        seconds = max(1, int(-(-exc.retry_after // 1)))
        return error(429, "rate_limited", str(exc), headers={"Retry-After": str(seconds)})

    return auth


def announce(auth: Authenticator, settings: Settings) -> None:
    """Say at start-up how the service is protected; never prints a key."""
    if auth.open:
        log.warning(
            "no API keys configured: the service is OPEN (anyone reaching %s can read, write "
            "and delete); set STORYLINE_API_KEYS to protect it",
            settings.host,
        )
    else:
        roles = sorted({role for role, _ in auth.keys}, key=lambda r: ROLES[r])
        log.info(
            "API keys: %d configured (roles %s); public reads %s, public metrics %s",
            len(auth.keys),
            ",".join(roles),
            settings.public_reads,
            settings.public_metrics,
        )
