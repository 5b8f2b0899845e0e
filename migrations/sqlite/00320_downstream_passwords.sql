-- Passwords set in Keystage and waiting to be pushed to a downstream
-- directory (Active Directory), which needs the password itself. Each is
-- sealed with the key file (AES-256-GCM, bound to its downstream and
-- account), written in the transaction that sets the password's hash and
-- deleted by the one that records its push. At most one per account and
-- downstream: a newer password replaces the older one.

-- +goose Up
CREATE TABLE downstream_passwords (
    id          INTEGER PRIMARY KEY,
    downstream  TEXT NOT NULL,
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sealed      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    must_change BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    UNIQUE (downstream, account_id)
);

-- +goose Down
DROP TABLE downstream_passwords;
