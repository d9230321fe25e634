"""Pagination cursors, signed: a client can hand back only a cursor this data folder issued.

A cursor is the last story's (updated_at, id) and an HMAC of it under a key kept in
the database (`meta.cursor_key`, made at the first start), so it stays valid across
restarts and readers in other processes, and a forged or edited one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from engine.errors import BadCursor

KEY_NAME = "cursor_key"
_SIG_BYTES = 12
_REFUSED = "cursor is not one this service issued; start again without it"


def new_key() -> str:
    return secrets.token_hex(32)


class Cursors:
    def __init__(self, key: str) -> None:
        self._key = bytes.fromhex(key)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIG_BYTES]

    def encode(self, updated_at: float, story_id: int) -> str:
        payload = f"{updated_at!r}:{story_id}".encode()
        token = payload + self._sign(payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[float, int]:
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except ValueError as exc:
            raise BadCursor(_REFUSED) from exc
        payload, signature = token[:-_SIG_BYTES], token[-_SIG_BYTES:]
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            raise BadCursor(_REFUSED)
        try:
            ts, sid = payload.decode().split(":")
            return float(ts), int(sid)
        except ValueError as exc:  # signed by us, so not reachable unless the key leaked
            raise BadCursor(_REFUSED) from exc
