-- Signed checkpoints of the audit chain: each vouches, under an Ed25519
-- signature, that the event at seq had hash when it was signed. They are
-- not directory state and carry no audit event of their own (an event per
-- checkpoint would move the head and call for another checkpoint).

-- +goose Up
CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoints;
