-- Smart lockout: the sources each account has signed in from (familiar
-- sources bypass the lock that unfamiliar ones share), and the recent wrong
-- passwords of each failure counter, kept only as a keyed fingerprint, so
-- that the same wrong password tried again counts once. Neither is
-- directory state: they carry no audit events of their own.

-- +goose Up
CREATE TABLE familiar_sources (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, source)
);

CREATE TABLE auth_failure_secrets (
    key TEXT NOT NULL,
    fp  TEXT NOT NULL,
    at  BIGINT NOT NULL,
    PRIMARY KEY (key, fp)
);

CREATE INDEX auth_failures_last_at ON auth_failures (last_at);
CREATE INDEX auth_failure_secrets_at ON auth_failure_secrets (at);

-- +goose Down
DROP INDEX auth_failure_secrets_at;
DROP INDEX auth_failures_last_at;
DROP TABLE auth_failure_secrets;
DROP TABLE familiar_sources;
