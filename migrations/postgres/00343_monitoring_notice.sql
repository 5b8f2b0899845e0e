-- The monitoring notice: an AUP version carries the notice that network
-- and internet use is monitored, and a signature records that the signer
-- acknowledged it as part of signing.

-- +goose Up
ALTER TABLE aup_documents ADD COLUMN monitoring_notice TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN notice_acknowledged BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE signatures DROP COLUMN notice_acknowledged;
ALTER TABLE aup_documents DROP COLUMN monitoring_notice;
