-- The accounts dual-registered at another school, for a school's counts
-- (its technician's dashboard): a partial index, so that finding them
-- reads the few with any other school rather than every account.
-- +goose Up
CREATE INDEX accounts_also_schools ON accounts (also_schools) WHERE also_schools <> '';

-- +goose Down
DROP INDEX accounts_also_schools;
