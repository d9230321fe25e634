-- Redirects are re-pointed when the story they name merges again ("WHERE merged_into = ?"):
-- without an index that scanned every story row, centroids included, on each merge
-- (most of the writer's time at 100k snippets).
CREATE INDEX stories_merged_into ON stories (merged_into) WHERE merged_into IS NOT NULL;
