-- A trust's schools as scopes. An account belongs to one school (its short
-- id from [[schools]]) or, with '', to the trust itself; also_schools are
-- the other schools of a dual-registered pupil, space-separated. An AUP
-- document belongs to one school or, with '', to the whole trust. A
-- single school leaves them all ''.

-- +goose Up
ALTER TABLE accounts ADD COLUMN school TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN also_schools TEXT NOT NULL DEFAULT '';
CREATE INDEX accounts_school ON accounts (school);
ALTER TABLE aup_documents ADD COLUMN school TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE aup_documents DROP COLUMN school;
DROP INDEX accounts_school;
ALTER TABLE accounts DROP COLUMN also_schools;
ALTER TABLE accounts DROP COLUMN school;
