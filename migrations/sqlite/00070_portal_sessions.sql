-- Portal sign-in sessions, kept server-side so that several nodes share
-- them and signing out (or a password change) ends them everywhere. The
-- browser holds a random token; only its SHA-256 is stored here, so a
-- copy of the database does not let anyone into a session.
-- Times are microseconds since the Unix epoch (UTC).

-- +goose Up
CREATE TABLE portal_sessions (
    id          TEXT PRIMARY KEY,
    account_id  BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    passkey     BOOLEAN NOT NULL DEFAULT FALSE,
    address     TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX portal_sessions_account ON portal_sessions (account_id);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);

-- +goose Down
DROP TABLE portal_sessions;
