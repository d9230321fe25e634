"""What the client sends and gets back (JSON bodies as typed records)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Snippet:
    text: str | None = None
    title: str | None = None
    lang: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime | str | None = None  # RFC 3339 with an offset, or an aware datetime
    external_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        body = {k: v for k, v in asdict(self).items() if v is not None}
        when = body.get("published_at")
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise ValueError("published_at must carry a time zone")
            body["published_at"] = when.isoformat()
        return body


@dataclass(frozen=True)
class Outcome:
    id: int
    story_id: int
    report_id: int
    lang: str
    status: str  # created | duplicate | exists

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Outcome:
        return cls(
            int(body["id"]),
            int(body["story_id"]),
            int(body["report_id"]),
            str(body["lang"]),
            str(body["status"]),
        )


@dataclass(frozen=True)
class Deleted:
    id: int
    story_id: int
    report_id: int
    story_gone: bool
    report_gone: bool
