-- A GIN index takes new entries into an unsorted "pending list" (fastupdate) and merges them
-- into the index later; every search reads the whole pending list. At the default limit (4 MB)
-- a bulk import left up to 4 MB per index to read on every query: a rare name took 323 ms at
-- p50 instead of 5 ms (bench/postgres.py, 30,000 posts, same run). fastupdate = off removed
-- the outliers too but made every insert update the index in place (ingest 213 posts/s
-- against 376/s here). A small pending list keeps the cheap inserts and bounds what a search
-- reads.
ALTER INDEX post_search_norm SET (gin_pending_list_limit = 256);
ALTER INDEX post_search_lemmas SET (gin_pending_list_limit = 256);
SELECT gin_clean_pending_list('post_search_norm'::regclass);
SELECT gin_clean_pending_list('post_search_lemmas'::regclass);
