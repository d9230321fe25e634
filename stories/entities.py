"""Names and numbers compared across scripts.

Translations keep proper names and figures while the words around them change:
Столтенберг / Stoltenberg, Подоляк / Podolyak / Podoliak, "12 795" / 12,795.
Names become script-free keys (transliterated, letters with interchangeable
spellings folded) that match fuzzily, so inflected Russian forms
(Столтенберга) and rival romanisations still meet.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import chain

_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ"
_ROMAN = "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya i i e g"
_CYR = dict(zip(_CYRILLIC, _ROMAN.split(), strict=True))
_CYR = {k: ("" if v == "_" else v) for k, v in _CYR.items()}
_LATIN_FOLD = str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüñçýÿ", "aaaaaaeeeeiiiiooooouuuuncyy")
# Spellings that romanisations disagree on, folded to one letter.
_SPELLING = [
    ("shch", "sh"),
    ("kh", "h"),
    ("ch", "c"),
    ("ck", "k"),
    ("ts", "c"),
    ("tz", "c"),
    ("ph", "f"),
    ("w", "v"),
    ("q", "k"),
    ("x", "ks"),
    ("j", "i"),
    ("y", "i"),
    ("zh", "j"),
    ("c", "k"),
]
_NAME = re.compile(r"\b([A-ZА-ЯЁІЇЄҐ][\w'’-]*)", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+)(?:[.,](\d+))?(?![\w])")
# Inflection endings trimmed before comparing (Russian and Spanish cases and plurals).
_ENDINGS = (
    "ami",
    "ov",
    "ev",
    "om",
    "em",
    "oi",
    "ei",
    "ui",
    "ia",
    "iu",
    "a",
    "u",
    "e",
    "i",
    "o",
    "s",
)


def transliterate(word: str) -> str:
    out = []
    for ch in word.lower():
        out.append(_CYR.get(ch, ch))
    return "".join(out).translate(_LATIN_FOLD)


def name_key(word: str) -> str:
    """A script-free spelling key: 'Подоляк', 'Podolyak' and 'Podoliak' give the same."""
    key = re.sub(r"[^a-z]", "", transliterate(word))
    for src, dst in _SPELLING:
        key = key.replace(src, dst)
    key = re.sub(r"(.)\1+", r"\1", key)  # doubled letters
    return key


def _stem(key: str) -> str:
    for end in _ENDINGS:
        if len(key) - len(end) >= 4 and key.endswith(end):
            return key[: -len(end)]
    return key


@lru_cache(maxsize=1 << 16)
def _word_key(word: str) -> str:
    """Cached: the same names recur in snippet after snippet."""
    return _stem(name_key(word))


def names(text: str) -> frozenset[str]:
    """Keys of capitalised words and acronyms; short ones are too ambiguous to help."""
    keys = set()
    for match in _NAME.finditer(text):
        key = _word_key(match.group(1))
        if len(key) >= 4:
            keys.add(key)
    return frozenset(keys)


def numbers(text: str) -> frozenset[str]:
    """Figures with their grouping removed: '12 795' and '12,795' are the same number."""
    found = set()
    for match in _NUMBER.finditer(text):
        whole = re.sub(r"[ \u00a0\u202f.,]", "", match.group(1))
        whole = whole.lstrip("0") or "0"
        if match.group(2):
            found.add(f"{whole}.{match.group(2)}")
        elif len(whole) >= 2:
            found.add(whole)
    return frozenset(found)


@lru_cache(maxsize=1 << 16)
def keys_match(a: str, b: str) -> bool:
    """Same key, or the same start and a close spelling (cached: a neighbourhood's names
    are compared with every newcomer's)."""
    if a == b:
        return True
    if a[:3] != b[:3]:
        return False
    shorter, longer = sorted((len(a), len(b)))
    if 3 * shorter < 2 * longer:  # a ratio of 0.8 is out of reach
        return False
    return SequenceMatcher(None, a, b).ratio() >= 0.8


def shared_name_evidence(
    a: frozenset[str], b: frozenset[str], weight: dict[str, float] | None = None
) -> float:
    """How strongly shared names say two snippets carry the same report (0..1).

    The share of both sides' name weight that the other side matches, times the
    rarity of the rarest shared name: two texts that share only the name every
    neighbour has (Putin in a story about Putin, Tom in a corpus about Tom) get
    little; two that share the one name few others carry get much.
    `weight` maps name keys to rarity in 0..1; unknown names weigh 1.
    """
    if not a or not b:
        return 0.0
    if _by_prefix(a).keys().isdisjoint(_by_prefix(b)):
        return 0.0  # no key shares its first three letters, which `keys_match` requires

    weight = weight or {}
    matched_a = [x for x in a if x in b or matches(x, b)]
    if not matched_a:
        return 0.0
    matched_b = [y for y in b if y in a or matches(y, a)]
    total = sum(weight.get(x, 1.0) for x in a) + sum(weight.get(y, 1.0) for y in b)
    found = sum(weight.get(x, 1.0) for x in matched_a) + sum(weight.get(y, 1.0) for y in matched_b)
    share = found / total if total else 0.0
    return share * max(weight.get(x, 1.0) for x in matched_a)


def matches(key: str, others: frozenset[str]) -> bool:
    """Whether `key` is among `others` or close to one of them (`keys_match`)."""
    if key in others:
        return True
    return any(keys_match(key, o) for o in _by_prefix(others).get(key[:3], ()))


@lru_cache(maxsize=1 << 15)
def _by_prefix(keys: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Keys grouped by their first three letters, the part `keys_match` requires equal."""
    out: dict[str, list[str]] = {}
    for key in keys:
        out.setdefault(key[:3], []).append(key)
    return {prefix: tuple(group) for prefix, group in out.items()}


def rarity_weights(name_sets: list[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency of names within a neighbourhood.

    A name that every neighbour carries is the topic, not the report; a name
    only two snippets share is strong evidence they carry the same report.
    """
    n = len(name_sets)
    counts = Counter(chain.from_iterable(name_sets))
    if n == 0:
        return {}
    denominator = math.log(n + 1)
    return {k: math.log((n + 1) / c) / denominator for k, c in counts.items()}
