-- Consent as it is: a parent, a carer or, for a looked-after child, the
-- local authority agrees, refuses or withdraws; each is a row, and the
-- gate honours the latest.

-- +goose Up
ALTER TABLE consents ADD COLUMN decision TEXT NOT NULL DEFAULT 'agreed';

-- +goose Down
ALTER TABLE consents DROP COLUMN decision;
