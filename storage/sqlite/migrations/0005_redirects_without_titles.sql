-- A story merged into another is a redirect: it has no title of its own. Older versions
-- kept the retired story's title snippet, which a later deletion could leave dangling.
UPDATE stories SET title_snippet_id = NULL, title_sim = 0 WHERE merged_into IS NOT NULL;
