-- Snippets carry their vectors: the FAISS index is a cache rebuilt from here.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    updated_at REAL NOT NULL,
    snippet_count INTEGER NOT NULL,
    report_count INTEGER NOT NULL,
    centroid_sum BLOB NOT NULL,
    title_snippet_id INTEGER,
    title_sim REAL NOT NULL DEFAULT 0,
    merged_into INTEGER
);
CREATE INDEX stories_updated ON stories (updated_at DESC, id DESC);

CREATE TABLE story_langs (
    story_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (story_id, lang)
);
CREATE INDEX story_langs_lang ON story_langs (lang, story_id);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    snippet_count INTEGER NOT NULL
);
CREATE INDEX reports_story ON reports (story_id);

CREATE TABLE snippets (
    id INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    title TEXT,
    text TEXT,
    lang TEXT NOT NULL,
    lang_detected INTEGER NOT NULL,
    source TEXT,
    url TEXT,
    published_at REAL NOT NULL,
    received_at REAL NOT NULL,
    content_hash TEXT NOT NULL,
    report_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    story_sim REAL NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    -- cosines to the snippet's nearest neighbours, best first, kept fresh as
    -- later snippets arrive: the background that margin scoring subtracts
    knn_sims BLOB NOT NULL
);
CREATE INDEX snippets_hash ON snippets (content_hash);
CREATE INDEX snippets_story ON snippets (story_id, lang);
CREATE INDEX snippets_report ON snippets (report_id, published_at);
