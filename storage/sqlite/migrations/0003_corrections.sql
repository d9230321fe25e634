-- Deletions and corrections (DELETE/PUT /v1/snippets/{id}).

-- Stories emptied by deletions: GET answers 410 Gone instead of 404, and the
-- id is never handed out again.
CREATE TABLE story_tombstones (
    id INTEGER PRIMARY KEY,
    gone_at REAL NOT NULL
);

-- Every deleted or replaced snippet, in commit order. An index file saved
-- before an entry replays it at start-up (drop the id, re-add the stored vector
-- when the snippet still exists), and the ids it names are never reused.
CREATE TABLE snippet_changes (
    seq INTEGER PRIMARY KEY,
    snippet_id INTEGER NOT NULL,
    report_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    action TEXT NOT NULL,          -- delete | replace
    at REAL NOT NULL
);
CREATE INDEX snippet_changes_snippet ON snippet_changes (snippet_id);
