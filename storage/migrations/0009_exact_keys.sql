-- From this migration on, the `lemmas` columns keep each key's stem mark ("~умєров"); FTS5 reads
-- "~" as a separator, so the index is unchanged. Posts from here on can be checked against a
-- plain-word rule from their stored keys; older ones (ids below this mark) are re-read.
INSERT OR REPLACE INTO state (key, value, at)
    VALUES ('exact_keys_from', (SELECT coalesce(max(id), 0) + 1 FROM posts),
            CAST(strftime('%s', 'now') AS INTEGER));
