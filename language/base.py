"""The detector interface: in-process (`detect.LanguageDetector`) or in child processes
(`process.DetectorProcess`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Detector(Protocol):
    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """An ISO 639-1 code per text, None where no language is clear."""
        ...
