"""Hypothesis strategies for hostile input, and the limits the fuzzed services run with
(tests/unit/test_validation_fuzz.py and tests/integration/test_fuzz.py)."""

from __future__ import annotations

from hypothesis import strategies as st

LIMITS = dict(
    max_text_chars=5000,
    max_title_chars=300,
    max_batch_items=20,
    max_body_bytes=2_000_000,
    max_page_size=100,
)

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSONISH = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
HOSTILE_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=300
) | st.sampled_from(
    [
        "",
        "   \n\t ",
        "\x00\x01\x02",
        "\u200b\u200b",  # zero-width spaces only
        "\ud800 lone surrogate",
        "Путин 習近平 Biden 🇺🇦🔥 مرحبا",
        "e\u0301" * 50,
        "\u202eevil rtl override",
    ]
)
DATES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "2024-06-14T12:00:00+14:00",
        "2024-06-14T12:00:00-12:00",
        "9999-12-31T23:59:59Z",
        "2024-02-30T00:00:00Z",
        "2024-06-14T12:00:00",
        "2024-06-14",
        "tomorrow",
        "",
    ]
) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
SNIPPETISH = st.fixed_dictionaries(
    {},
    optional={
        "text": HOSTILE_TEXT | JSON_SCALARS,
        "title": HOSTILE_TEXT | JSON_SCALARS,
        "lang": st.sampled_from(["en", "EN", " ru ", "xx", "eng", "en-US", "", "zz", "😀"])
        | JSON_SCALARS,
        "source": HOSTILE_TEXT | JSON_SCALARS,
        "url": st.sampled_from(
            ["https://e.org/a", "http://x", "ftp://e.org", "javascript:alert(1)", "//e.org", ""]
        )
        | HOSTILE_TEXT,
        "published_at": DATES | JSON_SCALARS,
        "external_id": HOSTILE_TEXT | JSON_SCALARS,
        "extra": JSONISH,
    },
)
