-- A person whose legal name must not be shown (an adopted or looked-after
-- child): the register and the subject access export give the preferred
-- name only. Set with keystage account legal-name NAME --withhold.

-- +goose Up
ALTER TABLE accounts ADD COLUMN legal_name_withheld BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE accounts DROP COLUMN legal_name_withheld;
