"""Language detection and ISO 639-1 code validation."""

from .codes import ISO_639_1_CODES, validate_code
from .detect import LanguageDetector, dominant_script_text

__all__ = ["ISO_639_1_CODES", "LanguageDetector", "dominant_script_text", "validate_code"]
