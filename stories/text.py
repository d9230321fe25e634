"""Text normalisation for exact-duplicate hashing, near-copy checks and model input."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case, punctuation and spacing folded away: what 'the same text' means for hashing."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def content_hash(title: str | None, text: str | None) -> str:
    body = normalise(f"{title or ''} {text or ''}")
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def words(text: str) -> frozenset[str]:
    return frozenset(normalise(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def clean(value: str | None) -> str | None:
    """Strip control characters (keeping newlines and tabs) and outer space; '' becomes None."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    value = "".join(
        ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
    ).strip()
    return value or None


def model_input(title: str | None, text: str | None, limit: int) -> str:
    """Title then text, cut at a word boundary near `limit` characters.

    The opening of a news text carries its event; long tails add noise and cost.
    """
    joined = ". ".join(part for part in (title, text) if part)
    if len(joined) <= limit:
        return joined
    cut = joined.rfind(" ", 0, limit)
    return joined[: cut if cut > limit // 2 else limit]


def display_title(title: str | None, text: str | None, limit: int = 160) -> str:
    """A headline for a snippet that may have none: the title, or its text's first sentence."""
    if title:
        return title
    first = re.split(r"(?<=[.!?…])\s+|\n", text or "", maxsplit=1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first.rfind(" ", 0, limit)
    return first[: cut if cut > 0 else limit] + "…"
