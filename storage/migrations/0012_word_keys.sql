-- From this migration on, the `lemmas` columns keep each word's keys together ("обмін|обміняти")
-- with "-" for a word without keys and "." where a sentence ends between two words. FTS5 reads
-- "|", "-" and "." as separators, so the index is unchanged. Posts from here on can be checked
-- against a phrase, a prefix or an exact form from what is stored; older ones (ids below this
-- mark) are re-read for those.
INSERT OR REPLACE INTO state (key, value, at)
    VALUES ('word_keys_from', (SELECT coalesce(max(id), 0) + 1 FROM posts),
            CAST(strftime('%s', 'now') AS INTEGER));
