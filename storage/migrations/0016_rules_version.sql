-- The rules' version, read by every post the pipeline stores (storage/ingest.py) to know when
-- its compiled matcher is stale. It was COUNT/MAX/SUM over the rules table: a scan per post,
-- about 1 ms at 10,000 rules. Now one row, bumped by any change to a rule (an edited query or
-- priority too, which the aggregate missed).
CREATE TABLE rules_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO rules_version (id, n) VALUES (1, 1);
CREATE TRIGGER rules_version_ai AFTER INSERT ON rules BEGIN
    UPDATE rules_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER rules_version_au AFTER UPDATE ON rules BEGIN
    UPDATE rules_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER rules_version_ad AFTER DELETE ON rules BEGIN
    UPDATE rules_version SET n = n + 1 WHERE id = 1;
END;
