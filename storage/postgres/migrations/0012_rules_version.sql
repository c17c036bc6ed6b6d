-- SQLite's migration 0016 on PostgreSQL: the rules' version as one row, bumped once per
-- statement that changes rules.
CREATE TABLE rules_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO rules_version (id, n) VALUES (1, 1);
CREATE FUNCTION rules_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rules_version SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rules_version_bump AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH STATEMENT EXECUTE FUNCTION rules_version_bump();
