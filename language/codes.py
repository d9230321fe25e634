"""ISO 639-1 language codes and validation of codes that clients send."""

from __future__ import annotations

# The 183 codes in force (ISO 639-1 as maintained by the Library of Congress; "bh" was
# withdrawn in 2021, and the pre-1989 "iw", "in", "ji" are not accepted).
_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he
    hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko
    kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd
    ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se
    sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty
    ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""
ISO_639_1_CODES: frozenset[str] = frozenset(_CODES.split())


def validate_code(code: str) -> str:
    """Return ``code`` as a lowercase ISO 639-1 code, or raise ValueError saying why not.

    Surrounding whitespace and upper case are forgiven ("EN" -> "en"); anything else
    (three-letter codes, locales such as "en-US", unknown pairs) is rejected.
    """
    if not isinstance(code, str):
        raise ValueError(f"language code must be a string (ISO 639-1), got {type(code).__name__}")
    norm = code.strip().lower()
    if len(norm) != 2 or not (norm.isascii() and norm.isalpha()):
        raise ValueError(
            f"language code {code!r} is not an ISO 639-1 code: expected two letters such as "
            "'en', 'ru' or 'es' (no region suffix, no three-letter ISO 639-2/3 code)"
        )
    if norm not in ISO_639_1_CODES:
        raise ValueError(f"language code {code!r} is not a known ISO 639-1 code")
    return norm


# What the detector chooses from unless told otherwise (STORYLINE_LANGUAGES).
DEFAULT_LANGUAGES = (
    "ru", "en", "es", "uk", "de", "fr", "it", "pt", "pl", "tr",
    "ar", "zh", "ja", "ko", "nl", "sv", "cs", "ro", "be", "kk",
)  # fmt: skip
