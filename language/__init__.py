"""Language detection and ISO 639-1 code validation.

Importing the package loads no detector: `language.detect` (lingua, in-process) and
`language.process` (child processes) are imported where they are used.
"""

from .codes import DEFAULT_LANGUAGES, ISO_639_1_CODES, validate_code

__all__ = ["DEFAULT_LANGUAGES", "ISO_639_1_CODES", "validate_code"]
