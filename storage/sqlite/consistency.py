"""Does the database agree with itself? Every snippet in a live report and story, every
story's title snippet present, stored counts equal to what is stored."""

from __future__ import annotations

import sqlite3

# (what is wrong, SQL counting the rows where it is)
_DB_RULES = [
    (
        "snippets in a story that does not exist",
        "SELECT COUNT(*) FROM snippets s LEFT JOIN stories t ON t.id = s.story_id "
        "WHERE t.id IS NULL",
    ),
    (
        "snippets in a report that does not exist",
        "SELECT COUNT(*) FROM snippets s LEFT JOIN reports r ON r.id = s.report_id "
        "WHERE r.id IS NULL",
    ),
    (
        "snippets whose report belongs to another story",
        "SELECT COUNT(*) FROM snippets s JOIN reports r ON r.id = s.report_id "
        "WHERE r.story_id != s.story_id",
    ),
    (
        "reports in a story that does not exist",
        "SELECT COUNT(*) FROM reports r LEFT JOIN stories t ON t.id = r.story_id "
        "WHERE t.id IS NULL",
    ),
    (
        "stories whose title snippet does not exist",
        "SELECT COUNT(*) FROM stories t LEFT JOIN snippets s ON s.id = t.title_snippet_id "
        "WHERE t.title_snippet_id IS NOT NULL AND s.id IS NULL",
    ),
    (
        "stories whose snippet_count differs from their snippets",
        "SELECT COUNT(*) FROM stories t WHERE t.merged_into IS NULL AND t.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.story_id = t.id)",
    ),
    (
        "reports whose snippet_count differs from their snippets",
        "SELECT COUNT(*) FROM reports r WHERE r.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.report_id = r.id)",
    ),
    (
        "snippets in a story merged into another",
        "SELECT COUNT(*) FROM snippets s JOIN stories t ON t.id = s.story_id "
        "WHERE t.merged_into IS NOT NULL",
    ),
]


def problems(conn: sqlite3.Connection) -> list[str]:
    """One line per broken rule, saying how many rows break it; empty when consistent."""
    found = []
    for what, sql in _DB_RULES:
        n = conn.execute(sql).fetchone()[0]
        if n:
            found.append(f"{n} {what}")
    dims = conn.execute("SELECT DISTINCT LENGTH(vector) FROM snippets").fetchall()
    if len(dims) > 1:
        found.append(f"vectors of several sizes: {sorted(d[0] for d in dims)} bytes")
    return found
