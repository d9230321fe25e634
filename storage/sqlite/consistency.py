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
    (
        "reports with no snippet",
        "SELECT COUNT(*) FROM reports r WHERE NOT EXISTS "
        "(SELECT 1 FROM snippets s WHERE s.report_id = r.id)",
    ),
    (
        "merged stories that still keep a title, counts or languages",
        "SELECT COUNT(*) FROM stories t WHERE t.merged_into IS NOT NULL AND "
        "(t.title_snippet_id IS NOT NULL OR t.snippet_count != 0 OR t.report_count != 0 "
        "OR EXISTS (SELECT 1 FROM story_langs l WHERE l.story_id = t.id))",
    ),
]

# live stories whose stored aggregate disagrees with their snippets, and story ids
# snippets name that have no row
_SUSPECTS = (
    "SELECT t.id FROM stories t WHERE t.merged_into IS NULL AND ("
    " t.snippet_count != (SELECT COUNT(*) FROM snippets s WHERE s.story_id = t.id)"
    " OR t.report_count != (SELECT COUNT(DISTINCT s.report_id) FROM snippets s"
    "  WHERE s.story_id = t.id)"
    " OR t.title_snippet_id IS NULL"
    " OR NOT EXISTS (SELECT 1 FROM snippets s WHERE s.id = t.title_snippet_id"
    "  AND s.story_id = t.id)"
    " OR EXISTS (SELECT 1 FROM story_langs l WHERE l.story_id = t.id AND l.count !="
    "  (SELECT COUNT(*) FROM snippets s WHERE s.story_id = t.id AND s.lang = l.lang))"
    " OR (SELECT COUNT(*) FROM story_langs l WHERE l.story_id = t.id) !="
    "  (SELECT COUNT(DISTINCT s.lang) FROM snippets s WHERE s.story_id = t.id))"
    " UNION SELECT DISTINCT s.story_id FROM snippets s"
    " WHERE s.story_id NOT IN (SELECT id FROM stories)"
)


def suspects(conn: sqlite3.Connection) -> list[int]:
    """Stories whose aggregates (counts, languages, title) must be recomputed."""
    return sorted(r[0] for r in conn.execute(_SUSPECTS))


def needs_repair(conn: sqlite3.Connection) -> bool:
    """Whether `repair_rows` would find anything: read-only, so it can run off the writer
    (the re-index asks after its swap, and only a positive answer costs the writer)."""
    return bool(problems(conn)) or bool(suspects(conn))


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


def repair_rows(conn: sqlite3.Connection) -> tuple[list[str], list[int]]:
    """Put right what the rows themselves settle, inside the caller's transaction:
    snippets and reports left in a retired story move to its survivor; reports are
    recounted (created for snippets that name a missing one, removed when empty, moved to
    their snippets' story); retired stories lose their titles. Returns what changed and
    the stories whose aggregates (counts, languages, centre, title) must be recomputed."""
    changed: list[str] = []

    def run(what: str, sql: str, args: tuple = ()) -> None:
        n = conn.execute(sql, args).rowcount
        if n:
            changed.append(f"{n} {what}")

    run(
        "snippets moved from a retired story to its survivor",
        "UPDATE snippets SET story_id = (SELECT t.merged_into FROM stories t WHERE "
        "t.id = snippets.story_id) WHERE story_id IN (SELECT id FROM stories WHERE "
        "merged_into IS NOT NULL)",
    )
    run(
        "report rows created for snippets that named a missing report",
        "INSERT INTO reports (id, story_id, first_seen, snippet_count) "
        "SELECT report_id, MIN(story_id), MIN(published_at), COUNT(*) FROM snippets "
        "WHERE report_id NOT IN (SELECT id FROM reports) GROUP BY report_id",
    )
    run(
        "reports moved to the story their snippets are in",
        "UPDATE reports SET story_id = (SELECT MIN(s.story_id) FROM snippets s WHERE "
        "s.report_id = reports.id) WHERE EXISTS (SELECT 1 FROM snippets s WHERE "
        "s.report_id = reports.id AND s.story_id != reports.story_id) AND (SELECT "
        "COUNT(DISTINCT s.story_id) FROM snippets s WHERE s.report_id = reports.id) = 1",
    )
    run(
        "empty reports removed",
        "DELETE FROM reports WHERE NOT EXISTS "
        "(SELECT 1 FROM snippets s WHERE s.report_id = reports.id)",
    )
    run(
        "report counts corrected",
        "UPDATE reports SET snippet_count = (SELECT COUNT(*) FROM snippets s WHERE "
        "s.report_id = reports.id), first_seen = (SELECT MIN(s.published_at) FROM snippets s "
        "WHERE s.report_id = reports.id) WHERE snippet_count != (SELECT COUNT(*) FROM "
        "snippets s WHERE s.report_id = reports.id)",
    )
    run(
        "titles taken off retired stories",
        "UPDATE stories SET title_snippet_id = NULL, title_sim = 0, snippet_count = 0, "
        "report_count = 0 WHERE merged_into IS NOT NULL AND (title_snippet_id IS NOT NULL "
        "OR snippet_count != 0 OR report_count != 0)",
    )
    run(
        "language counts of retired stories removed",
        "DELETE FROM story_langs WHERE story_id IN "
        "(SELECT id FROM stories WHERE merged_into IS NOT NULL)",
    )
    return changed, suspects(conn)
