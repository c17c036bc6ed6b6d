-- An album is cited by its first message's id (posts.message_id). Once the channel deletes that
-- message and keeps the rest (album_deleted), its link opens nothing: drafts, follow-ups and the
-- archive cite the album by a message still up instead, its lowest id. NULL: the post's own id.
ALTER TABLE posts ADD COLUMN link_id INTEGER;
UPDATE posts SET link_id = (
    SELECT MIN(a.message_id) FROM album_items a
    WHERE a.post_id = posts.id AND NOT EXISTS (
        SELECT 1 FROM album_deleted d
        WHERE d.source_id = a.source_id AND d.message_id = a.message_id))
WHERE id IN (
    SELECT d.post_id FROM album_deleted d JOIN posts p
    ON p.id = d.post_id AND p.source_id = d.source_id AND p.message_id = d.message_id);
