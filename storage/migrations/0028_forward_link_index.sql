-- Which stored posts forward a given post: an original that arrives after a forward of it (a
-- busy channel is polled while the forwarding one pushes) must not alert again the people the
-- forward alerted. Only forwards carry a link, so the index holds only them.
CREATE INDEX posts_by_forward_link ON posts (forward_link) WHERE forward_link IS NOT NULL;
