-- Nightly re-index: a persisted job registry and the resumable re-embedding side table.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,           -- queued, running, succeeded, failed
    phase TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    counts TEXT NOT NULL DEFAULT '{}',
    summary TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX jobs_state ON jobs (state);

-- Vectors made by a new model, committed batch by batch before the swap, so an
-- interrupted re-index resumes instead of starting over.
CREATE TABLE reembedded (
    snippet_id INTEGER NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (snippet_id, model)
);
